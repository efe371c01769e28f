"""Expert iteration on a token task: completions, search targets, verifier calls, learning."""

import numpy as np
import pytest
import torch

from straw import expert_iteration, gumbel, mcts, policy_gradients, transformer
from straw.tokens import CombinationLock, RunningSum

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_model(task, seed=0):
    torch.manual_seed(seed)
    return transformer.TinyLM(
        transformer.LMConfig.for_task(task, n_layer=1, n_embd=16, n_head=2, seed=seed)
    )


def test_completions_keep_the_prefix_and_reach_the_full_length():
    task = RunningSum(modulus=5, length=3)
    model = tiny_model(task)
    prompts = task.sample_prompts(3, np.random.default_rng(0))
    states = [task.game(p) for p in prompts]
    states[1] = states[1].play(4).play(0)
    answers = expert_iteration.complete(model, states, np.random.default_rng(0))
    assert answers.shape == (3, 3) and answers.min() >= 0 and answers.max() < 5
    assert tuple(answers[1, :2]) == (4, 0)


def test_every_simulation_is_one_verifier_call_and_targets_are_distributions():
    task = CombinationLock(vocab=6, length=3, seed=2)
    model = tiny_model(task)
    for search in expert_iteration.SEARCHES:
        counter = expert_iteration.Counter()
        prompts = task.sample_prompts(4, np.random.default_rng(0))
        answers, targets = expert_iteration.search_targets(
            model, task, prompts, 5, search, np.random.default_rng(0), counter
        )
        assert answers.shape == (4, 3) and targets.shape == (4, 3, 6)
        np.testing.assert_allclose(targets.sum(axis=-1), 1.0)
        assert counter.calls == 5 * 4 * 3


def test_searches_from_given_states_are_the_searches_expert_iteration_runs():
    task = CombinationLock(vocab=4, length=2, seed=0)
    model = tiny_model(task)
    assert type(expert_iteration.search_config()) is mcts.SearchConfig
    assert expert_iteration.search_config("gumbel", seed=3) == gumbel.GumbelConfig(seed=3)
    with pytest.raises(ValueError, match="search must be one of"):
        expert_iteration.search_config("beam")
    states = [task.game(), task.game().play(1)]
    for search in expert_iteration.SEARCHES:
        counter = expert_iteration.Counter()
        evaluate = expert_iteration.model_evaluator(model, np.random.default_rng(0), counter)
        outputs = expert_iteration.search_states(states, evaluate, 6, search, counter, seed=5)
        assert [out.tree.root.state for out in outputs] == states and counter.calls == 6 * 2
        for out in outputs:
            assert out.tree.visit_counts().sum() > 0 and out.action == out.tree.best_action()
            assert np.array_equal(out.action_weights, out.tree.improved_policy())
        if search == "gumbel":
            assert all(isinstance(out.tree, gumbel.GumbelTree) for out in outputs)
            assert [out.tree.gumbel.seed for out in outputs] == [5, 6]


def test_expert_iteration_learns_a_lock_and_counts_its_calls():
    task = CombinationLock(vocab=4, length=2, seed=1)
    model = tiny_model(task)
    start = policy_gradients.success_probability(model, task)
    log = expert_iteration.expert_iteration(
        model,
        task,
        iterations=4,
        answers_per_iteration=3,
        simulations=8,
        lr=3e-3,
        distil_steps=16,
        evaluate=lambda m: policy_gradients.success_probability(m, task),
    )
    assert log.verifier_calls == [48, 96, 144, 192]  # 8 simulations x 3 answers x 2 tokens
    assert [calls for calls, _ in log.evaluated] == [0, 48, 96, 144, 192]
    assert log.evaluated[-1][1] > max(0.5, start)


def test_bad_arguments_are_refused():
    task = CombinationLock(vocab=4, length=2)
    model = tiny_model(task)
    with pytest.raises(ValueError, match="search must be one of"):
        expert_iteration.search_targets(
            model,
            task,
            np.zeros((1, 0), int),
            4,
            "beam",
            np.random.default_rng(0),
            expert_iteration.Counter(),
        )
    with pytest.raises(ValueError, match="at least 2 simulations"):
        expert_iteration.expert_iteration(model, task, 1, 1, simulations=1)


def test_a_value_head_replaces_rollouts_and_only_finished_answers_call_the_verifier():
    task = CombinationLock(vocab=5, length=1, seed=0)
    with pytest.raises(ValueError, match="no value head"):
        expert_iteration.value_head_evaluator(tiny_model(task))
    torch.manual_seed(0)
    model = transformer.TinyLM(
        transformer.LMConfig.for_task(task, n_layer=1, n_embd=16, n_head=2, value_head=True)
    )
    counter = expert_iteration.Counter()
    prompts = task.sample_prompts(3, np.random.default_rng(0))
    expert_iteration.search_targets(
        model, task, prompts, 5, "puct", np.random.default_rng(0), counter, values="value_head"
    )
    assert counter.calls == 3 * 4  # the root is valued by the head; the 4 others are answers


def test_the_value_head_reads_the_position_after_the_prefix():
    task = CombinationLock(vocab=6, length=3, seed=0)
    torch.manual_seed(0)
    model = transformer.TinyLM(
        transformer.LMConfig.for_task(task, n_layer=1, n_embd=16, n_head=2, value_head=True)
    )
    state = task.game().play(2).play(5)
    _, values = expert_iteration.value_head_evaluator(model)([state])
    full = transformer.model_inputs(model, np.zeros((1, 0), dtype=np.int64), np.array([[2, 5, 1]]))
    with torch.no_grad():
        expected = torch.sigmoid(model.value(full)[0, 2]).item()  # BOS, 2, 5: after two tokens
    assert abs(values[0] - expected) < 1e-6


def test_gain_is_the_share_of_the_possible_improvement_on_the_right_token():
    prior = np.array([0.5, 0.25, 0.25])
    assert expert_iteration.gain(np.array([1.0, 0.0, 0.0]), prior, 0) == 1.0
    assert expert_iteration.gain(prior, prior, 0) == 0.0
    assert expert_iteration.gain(np.array([0.75, 0.0, 0.25]), prior, 0) == 0.5
    assert expert_iteration.gain(np.array([0.0, 0.5, 0.5]), prior, 0) == -1.0
