"""Token tasks: verifiers against brute force, exact DP counts, and the one-player Game."""

import random

import numpy as np
import pytest

from straw import mcts
from straw.game import Game, IllegalMove
from straw.tokens import (
    MAX_VOCAB,
    CombinationLock,
    DigitSum,
    DigitSumEOS,
    RunningSum,
    TargetSum,
    TokenGame,
    check_tokens,
)

TASKS = {
    "lock": CombinationLock(5, 3, seed=1),
    "lock4096": CombinationLock(4096, 2),
    "running-sum": RunningSum(4, 3),
    "digit-sum": DigitSum(4, 3, 5),
    "target-sum": TargetSum(3, 3, (0, 2, 5)),
    "digit-sum-eos": DigitSumEOS(4, 4, 5),
}


def no_prompts(n):
    return np.zeros((n, 0), dtype=np.int64)


@pytest.mark.parametrize("name", TASKS)
def test_random_play_keeps_every_invariant(name):
    """The one-player form of the shared invariant test of tests/test_game_contract.py."""
    task = TASKS[name]
    rng = random.Random(0)
    prompts = task.sample_prompts(10, np.random.default_rng(0))
    for prompt in prompts:
        state = task.game(prompt)
        assert isinstance(state, Game)
        for _ in range(task.length):
            with pytest.raises(ValueError):
                state.outcome()
            assert state.to_play == 1
            actions = state.legal_actions()
            assert actions == list(range(task.vocab)) and state.num_actions == task.vocab
            key, twin = hash(state), state
            child = state.play(rng.choice(actions))
            assert hash(state) == key and state == twin and child != state
            assert child.to_play == 1
            assert child == TokenGame(task, state.prompt, child.prefix)
            assert hash(child) == hash(TokenGame(task, state.prompt, child.prefix))
            state = child
        assert state.is_terminal() and state.legal_actions() == []
        expected = task.outcome(np.array([state.prompt]).reshape(1, -1), [state.prefix])[0]
        assert state.outcome() == expected in (0.0, 1.0)
        assert state.optimal_value() == state.uniform_value() == expected
        with pytest.raises(IllegalMove):
            state.play(0)


def test_combination_lock():
    task = CombinationLock(5, 3, secret=(4, 0, 2))
    answers = np.array([[4, 0, 2], [4, 1, 2], [0, 0, 0]])
    assert task.outcome(no_prompts(3), answers).tolist() == [1, 0, 0]
    assert task.token_rewards(no_prompts(3), answers).tolist() == [[1, 1, 1], [1, 0, 1], [0, 1, 0]]
    game = task.game().play(4)
    assert game.optimal_value() == 1 and game.uniform_value() == 1 / 25
    assert task.game().play(3).uniform_value() == 0
    assert str(game) == "4 _ _"
    # The seed draws the secret; the same seed draws the same one.
    assert CombinationLock(4096, 4, seed=3).secret == CombinationLock(4096, 4, seed=3).secret


def test_running_sum_steps_and_final_answer():
    task = RunningSum(5, 3)
    prompts = np.array([[3, 4, 1], [3, 4, 1]])
    assert task.partial_sums(prompts)[0].tolist() == [3, 2, 3]
    answers = np.array([[3, 2, 3], [0, 2, 3]])
    assert task.token_rewards(prompts, answers).tolist() == [[1, 1, 1], [0, 1, 1]]
    assert task.outcome(prompts, answers).tolist() == [1, 1]
    assert task.right_answer_wrong_steps(prompts, answers).tolist() == [False, True]
    assert (task.demonstrations(prompts, None) == task.partial_sums(prompts)).all()
    game = task.game([3, 4, 1])
    assert str(game.play(3)) == "3 4 1 | 3 _ _"
    assert game.uniform_value() == 1 / 5 and game.optimal_value() == 1


def test_digit_sum_counts_match_brute_force():
    for base, length, target in [(4, 3, 5), (10, 4, 18), (3, 5, 0), (2, 6, 6)]:
        task = DigitSum(base, length, target)
        answers = task.all_answers()
        accepted = task.outcome(no_prompts(len(answers)), answers)
        assert accepted.sum() == task.solutions
        # The value of every one-token prefix, by DP and by counting.
        for digit in range(base):
            first = answers[:, 0] == digit
            game = task.game().play(digit)
            assert game.uniform_value() == pytest.approx(accepted[first].mean())
            assert game.optimal_value() == float(accepted[first].any())
        # r_t = [the target can still be reached]: some accepted answer shares y_<=t.
        rewards = task.token_rewards(no_prompts(len(answers)), answers)
        for t in range(length):
            reachable = {tuple(a[: t + 1]) for a in answers[accepted == 1]}
            expected = [tuple(a[: t + 1]) in reachable for a in answers]
            assert (rewards[:, t] == expected).all()


def test_digit_sum_demonstrations_are_right_and_uniform():
    task = DigitSum(3, 3, 3)  # 7 solutions
    demos = task.demonstrations(no_prompts(7000), np.random.default_rng(0))
    assert task.outcome(no_prompts(7000), demos).all()
    _, counts = np.unique(demos, axis=0, return_counts=True)
    assert len(counts) == task.solutions == 7
    assert abs(counts - 1000).max() < 4 * np.sqrt(1000)


def test_bad_input_is_refused_with_the_limit():
    with pytest.raises(ValueError, match="MAX_VOCAB = 4096"):
        CombinationLock(MAX_VOCAB + 1, 2)
    with pytest.raises(ValueError, match="MAX_SEQUENCES"):
        CombinationLock(4096, 3).all_answers()
    with pytest.raises(ValueError, match="between 0 and"):
        DigitSum(10, 2, 19)
    task = CombinationLock(5, 2)
    with pytest.raises(ValueError, match="token id 5 is outside the vocabulary 0..4"):
        task.outcome(no_prompts(1), [[0, 5]])
    with pytest.raises(ValueError, match="token id -1"):
        task.token_rewards(no_prompts(1), [[-1, 0]])
    with pytest.raises(ValueError, match="shape"):
        task.outcome(no_prompts(1), [[0, 1, 2]])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        RunningSum(5, 2).game([1, 7])
    with pytest.raises(IllegalMove, match="outside the vocabulary"):
        task.game().play(5)
    with pytest.raises(ValueError, match="integer"):
        check_tokens(np.array([0.5]), 5)


def test_mcts_finds_the_lock_with_rollouts():
    task = CombinationLock(3, 3, secret=(2, 0, 1))
    state = task.game()
    for _ in range(task.length):
        tree = mcts.run(mcts.Tree(state), mcts.rollout_evaluator(seed=0, rollouts=4), 60)
        state = state.play(int(np.argmax(tree.visit_counts())))
    assert state.outcome() == 1.0


def test_target_sum_names_its_target_in_the_prompt():
    task = TargetSum(6, 4, tuple(range(0, 21, 2)))
    assert task.prompt_length == 2  # 20 is "32" in base 6
    assert task.encode(20).tolist() == [3, 2] and task.decode([[3, 2], [0, 4]]).tolist() == [20, 4]
    prompts = task.sample_prompts(200, np.random.default_rng(0))
    assert set(task.decode(prompts).tolist()) == set(task.targets)
    answers = task.demonstrations(prompts, np.random.default_rng(1))
    assert task.outcome(prompts, answers).all()  # every demonstration is right
    assert (answers.sum(axis=1) == task.decode(prompts)).all()
    assert task.token_rewards(prompts, answers).all()
    # Each prompt's difficulty is its DigitSum's: 1 right answer for 0 and 20, 146 for 10.
    assert [task.by_target[n].solutions for n in (0, 10, 20)] == [1, 146, 1]
    assert task.uniform_value(task.encode(10), ()) == pytest.approx(146 / 6**4)
    with pytest.raises(ValueError, match="not among the targets"):
        task.decode([[0, 3]])
    with pytest.raises(ValueError, match="target must be between"):
        TargetSum(6, 4, (25,))
    with pytest.raises(ValueError, match="at least one"):
        TargetSum(6, 4, ())


def test_digit_sum_eos_verifier_mask_and_lengths():
    task = DigitSumEOS(6, 6, 6)  # token 0 is the EOS, 1..5 the digits
    answers = np.array(
        [
            [1, 5, 0, 0, 0, 0],  # 1 + 5, then stop: right, length 3
            [1, 5, 0, 3, 4, 2],  # the same answer: what follows the first EOS is padding
            [2, 2, 2, 0, 1, 0],  # 2 + 2 + 2: right, length 4
            [1, 1, 1, 1, 1, 1],  # sums to 6 but never stops: truncated, wrong
            [3, 4, 0, 0, 0, 0],  # 7: wrong
            [0, 3, 3, 0, 0, 0],  # stops at once with sum 0: wrong, length 1
        ]
    )
    assert task.outcome(no_prompts(6), answers).tolist() == [1, 1, 1, 0, 0, 0]
    mask = task.answer_mask(answers)
    assert mask.dtype == bool
    assert mask.sum(axis=1).tolist() == task.answer_lengths(answers).tolist() == [3, 3, 4, 6, 3, 1]
    assert mask[1].tolist() == [True, True, True, False, False, False]
    # r_t = [y_<=t can still be completed to a right answer], the outcome at the EOS, 0 after.
    rewards = task.token_rewards(no_prompts(6), answers)
    assert rewards[:3].tolist() == [[1, 1, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 0, 0]]
    assert rewards[3].tolist() == [1, 1, 1, 1, 0, 0]  # five ones need a sixth digit and an EOS
    assert rewards[4].tolist() == [1, 0, 0, 0, 0, 0] and rewards[5].tolist() == [0] * 6
    # Tasks without an EOS: every token counts.
    assert TASKS["digit-sum"].answer_mask([[0, 1, 2]]).tolist() == [[True] * 3]
    assert TASKS["lock"].answer_lengths(np.zeros((2, 3), int)).tolist() == [3, 3]
    game = task.game().play(1).play(5)
    assert game.optimal_value() == 1 and game.uniform_value() == 1 / 6
    assert game.play(0).play(2).uniform_value() == 1.0
    assert task.game().play(0).optimal_value() == 0


@pytest.mark.parametrize("base, length, target", [(6, 6, 6), (4, 5, 3), (3, 4, 0), (2, 5, 4)])
def test_digit_sum_eos_counts_match_brute_force(base, length, target):
    task = DigitSumEOS(base, length, target)
    answers = task.all_answers()
    # Each distinct answer once: every sequence of V^T, cut at its first EOS, is one of them.
    assert len(answers) == sum((base - 1) ** k for k in range(length + 1))
    every = np.stack(np.unravel_index(np.arange(base**length), (base,) * length), axis=1)
    cut = np.where(task.answer_mask(every), every, task.eos)
    assert {tuple(row) for row in cut} == {tuple(row) for row in answers}
    accepted = task.outcome(no_prompts(len(answers)), answers)
    assert accepted.sum() == task.solutions
    # A uniform policy writes an answer of length |o| with probability B^-|o|.
    p = float(base) ** -task.answer_lengths(answers)
    assert p.sum() == pytest.approx(1)
    assert task.game().uniform_value() == pytest.approx(p @ accepted)
    for token in range(base):
        first = answers[:, 0] == token
        game = task.game().play(token)
        assert game.uniform_value() == pytest.approx((p[first] @ accepted[first]) * base)
        assert game.optimal_value() == float(accepted[first].any())
    # r_t = [some right answer shares y_<=t], up to the first EOS; 0 after it.
    rewards = task.token_rewards(no_prompts(len(answers)), answers)
    mask = task.answer_mask(answers)
    for t in range(length):
        reachable = {tuple(a[: t + 1]) for a in answers[accepted == 1]}
        expected = [tuple(a[: t + 1]) in reachable for a in answers]
        assert (rewards[:, t] == np.where(mask[:, t], expected, 0)).all()


def test_digit_sum_eos_demonstrations_are_right_uniform_and_padded():
    task = DigitSumEOS(4, 5, 4)  # 3, 3 and 1 right answers of 2, 3 and 4 digits
    demos = task.demonstrations(no_prompts(7000), np.random.default_rng(0))
    assert task.outcome(no_prompts(7000), demos).all()
    assert (demos[~task.answer_mask(demos)] == task.eos).all()
    _, counts = np.unique(demos, axis=0, return_counts=True)
    assert len(counts) == task.solutions == 7
    assert abs(counts - 1000).max() < 4 * np.sqrt(1000)
    assert set(task.answer_lengths(demos)) == {3, 4, 5}


def test_digit_sum_eos_refuses_bad_input():
    with pytest.raises(ValueError, match=r"between 0 and \(B-1\)\*\(T-1\) = 10"):
        DigitSumEOS(6, 3, 11)
    with pytest.raises(ValueError, match="MAX_SEQUENCES"):
        DigitSumEOS(17, 5, 3).all_answers()
    with pytest.raises(ValueError, match="outside the vocabulary"):
        DigitSumEOS(3, 3, 2).answer_mask([[0, 3, 1]])
    with pytest.raises(ValueError, match="shape"):
        DigitSumEOS(3, 3, 2).answer_mask([[0, 1]])
