"""MCTS on games small enough to know the answer: Nim, and a one-player game."""

from functools import partial

import numpy as np
import pytest
from small_games import Corridor, Nim  # the last stone wins; a one-player walk

from straw import mcts


@pytest.mark.parametrize("stones", [5, 6, 7, 9, 10, 11])
def test_uct_with_rollouts_finds_the_winning_nim_move(stones):
    tree = mcts.run(
        mcts.Tree(Nim(stones), mcts.SearchConfig(rule=mcts.UCT())),
        mcts.rollout_evaluator(seed=0),
        1000,
    )
    winning = stones % 4 - 1  # take stones % 4 to leave a multiple of 4
    assert int(np.argmax(tree.visit_counts())) == winning
    assert tree.root_value() > 0.3


@pytest.mark.parametrize("stones", [4, 8])
def test_lost_nim_positions_have_negative_value(stones):
    tree = mcts.run(
        mcts.Tree(Nim(stones), mcts.SearchConfig(rule=mcts.UCT())),
        mcts.rollout_evaluator(seed=1),
        600,
    )
    assert tree.root_value() < 0


def test_puct_with_uniform_priors_solves_nim_from_terminal_values_alone():
    tree = mcts.run(mcts.Tree(Nim(7)), mcts.uniform_evaluator, 300)
    assert int(np.argmax(tree.visit_counts())) == 2


def test_single_player_game_values_are_not_flipped():
    tree = mcts.run(
        mcts.Tree(Corridor(4), mcts.SearchConfig(rule=mcts.UCT(c=0.5))),
        mcts.rollout_evaluator(seed=0),
        200,
    )
    assert int(np.argmax(tree.visit_counts())) == 1
    assert tree.root_value() > 0.5


def test_visit_counts_add_up_and_the_improved_policy_follows_temperature():
    tree = mcts.run(mcts.Tree(Nim(9)), mcts.uniform_evaluator, 64)
    counts = tree.visit_counts()
    assert counts.sum() == 63  # the first simulation only expands the root
    greedy = tree.improved_policy(0)
    assert greedy.sum() == 1 and greedy[np.argmax(counts)] == 1
    np.testing.assert_allclose(tree.improved_policy(1.0), counts / counts.sum())
    sharp = tree.improved_policy(0.5)
    np.testing.assert_allclose(sharp, counts**2 / (counts**2).sum())


def test_tree_reuse_keeps_the_subtree():
    tree = mcts.run(mcts.Tree(Nim(9)), mcts.uniform_evaluator, 200)
    action = int(np.argmax(tree.visit_counts()))
    kept = tree.root.children[action].visit_count
    tree.advance(action)
    assert tree.root.state == Nim(9).play(action)
    assert tree.root.visit_count == kept
    assert tree.visit_counts().sum() == kept - 1


def test_dirichlet_noise_changes_root_priors_only_and_is_seeded():
    def priors(seed):
        config = mcts.SearchConfig(dirichlet_alpha=0.3, seed=seed)
        tree = mcts.run(mcts.Tree(Nim(9), config), mcts.uniform_evaluator, 2)
        return tree.root.priors.tolist(), tree

    first, tree = priors(0)
    again, _ = priors(0)
    other, _ = priors(1)
    assert first == again and first != other
    assert abs(sum(first) - 1) < 1e-12 and max(first) != min(first)
    child = next(c for c in tree.root.children.values() if c.expanded)
    assert set(child.priors.tolist()) == {1 / 3}


def test_batched_search_equals_one_tree_at_a_time():
    calls = []

    def counting(states):
        calls.append(len(states))
        return mcts.uniform_evaluator(states)

    batched = mcts.run_batched([mcts.Tree(Nim(n)) for n in (9, 10, 11)], counting, 50)
    assert max(calls) == 3 and len(calls) == 50
    for n, tree in zip((9, 10, 11), batched, strict=True):
        alone = mcts.run(mcts.Tree(Nim(n)), mcts.uniform_evaluator, 50)
        np.testing.assert_array_equal(tree.visit_counts(), alone.visit_counts())


def test_improved_policy_before_any_search_is_an_error():
    with pytest.raises(ValueError, match="no simulations"):
        mcts.Tree(Nim(5)).improved_policy()


def test_the_best_action_is_legal_and_follows_visits_then_value_then_prior():
    # Nim(2): only actions 0 and 1 are legal. One simulation expands the root and visits
    # nothing, so the visit counts say nothing: the prior decides, and never an index default.
    def prior_on(action):
        def evaluate(states):
            priors = np.full((len(states), 3), 0.1)
            priors[:, action] = 0.8
            return priors, np.zeros(len(states))

        return evaluate

    tree = mcts.run(mcts.Tree(Nim(2)), prior_on(1), 1)
    assert tree.visit_counts().sum() == 0 and tree.best_action() == 1
    tree = mcts.run(mcts.Tree(Nim(3)), prior_on(2), 1)
    assert tree.best_action() == 2
    # With the visits equal, the better mean value decides: from Nim(2), taking both wins.
    uct = mcts.SearchConfig(rule=mcts.UCT())  # every move once before any twice
    tree = mcts.run(mcts.Tree(Nim(2), uct), prior_on(0), 3)
    assert tree.root.child_visits.tolist() == [1, 1] and tree.best_action() == 1
    # Otherwise the most visited move, as the improved policy at temperature 0.
    tree = mcts.run(mcts.Tree(Nim(9)), mcts.uniform_evaluator, 64)
    assert tree.improved_policy(0)[tree.best_action()] == 1
    with pytest.raises(ValueError, match="no simulations"):
        mcts.Tree(Nim(5)).best_action()


def test_an_unvisited_move_has_the_rules_first_play_value():
    node = mcts.Node(Nim(5))
    node.expand([0, 1, 2], np.array([0.2, 0.5, 0.3]))
    node.child_visits[:] = [2, 0, 1]
    node.child_values[:] = [1.0, 0.0, -0.5]
    assert node.child_means().tolist() == [0.5, 0.0, -0.5]
    assert node.child_means(unvisited=-1.0).tolist() == [0.5, -1.0, -0.5]
    node.visit_count = 3
    # the unvisited move has the highest prior: it wins at first-play value 0, not at -1
    assert mcts.PUCT().scores(node).argmax() == 1
    assert mcts.PUCT(unvisited_value=-1.0).scores(node).argmax() == 0


def test_one_entry_point_runs_every_kind_of_search():
    from straw import gumbel

    evaluate = mcts.rollout_evaluator(seed=0)
    kinds = {
        "PUCT": mcts.SearchConfig(),
        "UCT": mcts.SearchConfig(rule=mcts.UCT()),
        "Gumbel": gumbel.GumbelConfig(num_considered=4, seed=1),
    }
    for name, config in kinds.items():
        out = mcts.search(Nim(5), evaluate, 200, config)
        assert out.action == 0, name  # take one stone and leave four: the only winning move
        assert out.action == out.tree.best_action()
        assert np.array_equal(out.action_weights, out.tree.improved_policy())
        assert out.tree.root.visit_count == 200 and out.tree.root.state == Nim(5)
    assert type(mcts.search(Nim(5), evaluate, 8).tree) is mcts.Tree  # PUCT by default
    assert isinstance(mcts.search(Nim(5), evaluate, 8, kinds["Gumbel"]).tree, gumbel.GumbelTree)
    side = mcts.search_batched([Nim(5), Nim(6)], evaluate, 50, [kinds["PUCT"], kinds["UCT"]])
    assert [out.tree.root.state for out in side] == [Nim(5), Nim(6)]


def test_a_finished_game_is_valued_by_the_configs_utility():
    """Black leads B+1 after White's pass and can take White's last stone (A2) for B+25. The
    evaluator values a position as if the game ended there, margin counted, and a little less
    sure of it than of a finished game. Valued by its bare outcome, ending the game at once by
    passing (+1) beats everything; valued the way the evaluator values, B+1 is worth 0.52 and
    the search plays on and captures."""
    from straw.go import Position, parse_point, replay

    position = replay(["B1", "A1", "C3", "pass"], size=5, komi=0)

    def static_score(states):  # for the player to move
        values = [0.9 * s.utility(0.5) * s.to_play for s in states]
        return np.full((len(states), 26), 1 / 26), np.array(values)

    by_margin = partial(Position.utility, score_weight=0.5)
    ended = position.play(position.pass_action)
    assert mcts.Tree(position).final_value(ended) == -1.0  # White to move there: she lost
    margin_counts = mcts.SearchConfig(utility=by_margin)
    assert mcts.Tree(position, margin_counts).final_value(ended) == pytest.approx(-0.52)
    every_move_once = 1 + len(position.legal_actions())
    for utility, move in [(None, "pass"), (by_margin, "A2")]:
        config = mcts.SearchConfig(mcts.UCT(), utility=utility)
        out = mcts.search(position, static_score, every_move_once, config)
        assert out.action == parse_point(move, 5)
