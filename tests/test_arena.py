"""Players, games and matches: the rules are enforced, colours alternate, the statistics are
right, and the pure Monte Carlo player beats a random one."""

import json
import math

import numpy as np
import pytest

from straw.arena import (
    MatchResult,
    MCTSPlayer,
    PolicyPlayer,
    RandomPlayer,
    by_colour,
    elo,
    elo_ladder,
    make_player,
    margin_counts,
    match,
    network_player,
    p_value_text,
    permutation_test,
    play_game,
    sign_test,
    stored_match,
    wilson_interval,
)
from straw.game import IllegalMove
from straw.go import BLACK, Position, parse_point, replay
from straw.sgf import read_sgf, sgfmill_area_score, write_sgf


class Scripted:
    """Plays the given points in order, skipping any that is taken, then passes; with
    `blunder`, plays its points whether they are taken or not."""

    def __init__(self, points: list[str], blunder: bool = False):
        self.points, self.blunder = points, blunder

    def new_game(self, size: int, komi: float) -> None:
        self.position, self.queue = Position(size, komi), list(self.points)

    def play(self, action: int) -> None:
        self.position = self.position.play(action)

    def genmove(self) -> int:
        size = self.position.size
        while self.queue:
            point = parse_point(self.queue.pop(0), size)
            if self.blunder or self.position.board[point] == 0:
                return point
        return size * size


def test_a_game_ends_after_two_passes_and_is_scored_by_tromp_taylor():
    record = play_game(Scripted(["C3"]), Scripted([]), size=5, komi=0.5, names=("b", "w"))
    assert record.moves == (parse_point("C3", 5), 25, 25)
    assert record.position.is_terminal() and record.result == "B+24.5"
    assert (record.black, record.white) == ("b", "w")
    again = read_sgf(write_sgf(record.moves, 5, 0.5, record.result), suicide_allowed=False)
    assert again.position == record.position


def test_the_move_cap_stops_a_game_unfinished():
    record = play_game(RandomPlayer(seed=1), RandomPlayer(seed=2), size=5, komi=0, max_moves=4)
    assert len(record.moves) == 4 and not record.position.is_terminal()


def test_an_illegal_move_names_the_player_who_made_it():
    with pytest.raises(IllegalMove, match="White played an illegal move: C3 is occupied"):
        play_game(Scripted(["C3"]), Scripted(["C3"], blunder=True), size=5, komi=0)


def test_random_games_are_scored_as_sgfmill_scores_them():
    for seed in range(10):
        record = play_game(RandomPlayer(seed), RandomPlayer(seed + 100), size=5, komi=0)
        assert record.position.is_terminal()
        assert record.position.tromp_taylor_score() == sgfmill_area_score(record.moves, 5)


def test_the_random_player_never_fills_its_own_eye():
    player = RandomPlayer(seed=0)
    # Black's only empty points are its two eyes, B3 and C2: it passes rather than fill one.
    player.position = Position.from_diagram(
        "XXXX\nX.XX\nXX.X\nXXXX", to_play=BLACK, suicide_allowed=False
    )
    assert player.genmove() == player.position.pass_action


def test_colours_alternate_and_results_count_from_the_first_players_view():
    # Whoever is Black plays C3 and wins by area; so each side wins its Black games.
    result = match(Scripted(["C3"]), Scripted(["C3"]), games=5, size=5, komi=0.5, names=("a", "b"))
    assert [r.black for r in result.records] == ["a", "b", "a", "b", "a"]
    assert (result.wins, result.losses, result.draws) == (3, 2, 0)
    assert result.score == 0.6
    assert result.margins == [24.5, -24.5, 24.5, -24.5, 24.5]


def test_a_match_can_give_the_first_player_one_colour_throughout():
    players = Scripted(["C3"]), Scripted(["C3"])
    black = match(*players, games=3, size=5, komi=0.5, names=("a", "b"), first_colour="black")
    assert [r.black for r in black.records] == ["a"] * 3 and black.margins == [24.5] * 3
    white = match(*players, games=2, size=5, komi=0.5, names=("a", "b"), first_colour="white")
    assert [r.white for r in white.records] == ["a"] * 2 and white.losses == 2
    with pytest.raises(ValueError, match="first_colour"):
        match(*players, games=2, size=5, komi=0.5, first_colour="red")


def test_sign_test_is_the_exact_binomial_tail():
    assert sign_test(0, 10) == sign_test(10, 0) == 2 / 1024  # both tails of Binomial(10, 1/2)
    assert sign_test(1, 9) == 2 * 11 / 1024
    assert sign_test(5, 5) == sign_test(0, 0) == 1.0  # no evidence either way
    assert abs(sign_test(20, 12) - 0.2153) < 1e-4  # not significant at 5%
    assert sign_test(30, 12) < 0.01
    with pytest.raises(ValueError):
        sign_test(-1, 3)


def test_wilson_interval_matches_known_values():
    # Wilson (1927) interval, z = 1.96: 8 of 10 -> (0.490, 0.943); 0 of 10 -> (0, 0.278).
    low, high = wilson_interval(8, 10)
    assert (round(low, 3), round(high, 3)) == (0.490, 0.943)
    assert wilson_interval(0, 10)[0] == 0.0 and round(wilson_interval(0, 10)[1], 3) == 0.278
    assert wilson_interval(10, 10)[1] == 1.0
    with pytest.raises(ValueError, match="at least one game"):
        wilson_interval(0, 0)


def test_elo_of_a_score():
    assert elo(0.5) == 0
    assert elo(0.75) == pytest.approx(400 * math.log10(3))
    assert elo(1.0) == math.inf and elo(0.0) == -math.inf
    assert elo(0.25) == pytest.approx(-elo(0.75))
    result = MatchResult(wins=7, losses=2, draws=1)
    low, high = result.elo_interval
    assert low < result.elo < high
    assert "7-2-1 in 10 games: score 0.750" in str(result)


def test_the_search_player_reuses_its_tree():
    player = MCTSPlayer(simulations=50, seed=0)
    player.new_game(5, 0)
    action = player.genmove()
    player.play(action)
    kept = player.tree.root.visit_count
    assert kept > 0  # the subtree under the move played survives
    reply = player.genmove()
    player.play(reply)
    assert player.position.board[action] == BLACK and player.position.board[reply] == -BLACK


def test_the_search_player_refuses_nonsense():
    with pytest.raises(ValueError, match="at least one simulation"):
        MCTSPlayer(simulations=0)


def test_pure_monte_carlo_beats_random_on_5x5():
    result = match(MCTSPlayer(100, seed=0), RandomPlayer(seed=1), games=4, size=5, komi=0)
    assert result.wins == 4, result


def test_the_network_player_searches_with_puct_and_noise_only_if_asked():
    import torch

    from straw.nets import NetConfig, PolicyValueNet

    torch.manual_seed(0)
    net = PolicyValueNet(NetConfig(size=5, blocks=1, channels=8))
    quiet, noisy = network_player(net, 8), network_player(net, 8, seed=1, noise=True)
    assert quiet.config.dirichlet_alpha is None and noisy.config.dirichlet_alpha == 10 / 26
    assert type(quiet.config.rule).__name__ == "PUCT"
    record = play_game(noisy, RandomPlayer(seed=2), 5, 0.0)
    assert record.position.is_terminal()  # played to two passes, every move legal
    assert record.position.tromp_taylor_score() == sgfmill_area_score(record.moves, 5)


def test_each_game_of_a_match_draws_root_noise_of_its_own():
    """A player with root noise draws it from one generator for all its games: the second game
    starts from the same empty board with other noise, and the first is what its seed gives."""
    import torch

    from straw import mcts
    from straw.nets import NetConfig, PolicyValueNet

    torch.manual_seed(0)
    net = PolicyValueNet(NetConfig(size=5, blocks=1, channels=8))
    player = network_player(net, 4, seed=3, noise=True)
    first_priors = []
    for _ in range(2):
        player.new_game(5, 0.0)
        player.genmove()
        first_priors.append(player.tree.root.priors.copy())
    assert not np.allclose(first_priors[0], first_priors[1])
    alone = mcts.Tree(Position(5, 0.0), player.config)  # a tree on its own, seeded by the config
    mcts.run(alone, player.evaluate, 4)
    assert np.allclose(alone.root.priors, first_priors[0])


# --- Players from their names -----------------------------------------------------------------


def test_make_player_builds_every_kind_of_player(tmp_path):
    from straw.nets import NetConfig, PolicyValueNet, save_network

    assert isinstance(make_player("random", seed=3), RandomPlayer)
    searcher = make_player("mcts:12", seed=3)
    assert isinstance(searcher, MCTSPlayer) and searcher.simulations == 12
    path = tmp_path / "net.safetensors"
    save_network(PolicyValueNet(NetConfig(size=5, blocks=1, channels=8)).eval(), path)
    network = make_player(f"net:{path}", size=5, simulations=6, noise=True)
    assert isinstance(network, MCTSPlayer) and network.simulations == 6
    assert network.config.dirichlet_alpha == pytest.approx(10 / 26)
    network.new_game(5, 0.5)
    assert network.genmove() in range(26)
    with pytest.raises(ValueError, match="a network for 5x5 Go, not 7x7"):
        make_player(f"net:{path}", size=7)
    assert network.config.utility is None  # no train_config: values are bare results
    policy = make_player(f"policy:{path}", size=5, seed=1)
    assert isinstance(policy, PolicyPlayer)
    with pytest.raises(ValueError, match="a network for 5x5 Go, not 7x7"):
        make_player(f"policy:{path}", size=7)


def test_the_raw_policy_player_samples_its_priors_over_the_legal_moves():
    """Priors that put most of their mass on occupied points and the rest on two empty ones:
    the player plays only those two, in the ratio of their priors."""
    from scipy.stats import binomtest

    position = Position.from_diagram(
        """
        X X .
        O O .
        . . .
        """
    )
    priors = np.full(10, 0.1)
    priors[[2, 5]] = 0.02, 0.06  # the two empty points on the right edge
    priors[[6, 7, 8, 9]] = 0.0  # the other empty points, and the pass

    player = PolicyPlayer(lambda positions: (priors[None, :], np.zeros(1)), seed=0)
    player.position = position
    moves = [player.genmove() for _ in range(400)]
    assert set(moves) == {2, 5}
    assert binomtest(moves.count(2), 400, 0.25).pvalue > 1e-3


def test_a_network_player_values_finished_games_as_its_network_was_trained(tmp_path):
    from straw.nets import NetConfig, PolicyValueNet, save_network

    path = tmp_path / "net.safetensors"
    net = PolicyValueNet(NetConfig(size=5, blocks=1, channels=8)).eval()
    save_network(net, path, train_config={"score_weight": 1.0})
    utility = make_player(f"net:{path}", size=5).config.utility
    won_by_one = replay(["B1", "A1", "C3", "pass", "pass"], size=5, komi=0)
    assert utility(won_by_one) == pytest.approx(1 / 25)  # the margin alone, as trained


@pytest.mark.parametrize(
    "spec, message",
    [
        ("alphago", "a player is random, mcts:N"),
        ("random:3", "a player is random, mcts:N"),
        ("mcts", "a player is random, mcts:N"),
        ("net:", "a player is random, mcts:N"),
        ("mcts:0", "'0' is not a whole number of 1 or more"),
        ("mcts:ten", "'ten' is not a whole number of 1 or more"),
        ("mcts:-4", "'-4' is not a whole number of 1 or more"),
        ("gnugo:x", "'x' is not a whole number of 0 or more"),
        ("net:no/such/file.safetensors", "there is no file no/such/file.safetensors"),
    ],
)
def test_make_player_says_what_is_wrong_with_a_spec(spec, message):
    with pytest.raises(ValueError, match=message):
        make_player(spec)


def test_an_elo_ladder_recovers_the_difference_a_score_implies():
    # one match: 75% for a is 191 Elo (elo(0.75)); the prior's draw pulls it slightly towards 0
    ladder = elo_ladder([("a", "b", 75, 100)], anchor="b")
    rating, low, high = ladder["a"]
    assert ladder["b"] == (0.0, 0.0, 0.0)
    assert 185 < rating < elo(0.75) and low < rating < high
    assert high - low == pytest.approx(
        2 * 1.96 * 400 / math.log(10) / math.sqrt(101 * 0.75 * 0.25), rel=0.05
    )


def test_an_elo_ladder_chains_players_and_stays_finite_for_a_clean_sweep():
    results = [("a", "b", 15, 20), ("b", "c", 15, 20), ("a", "c", 20, 20)]
    ladder = elo_ladder(results, anchor="c")
    assert ladder["a"][0] > ladder["b"][0] > ladder["c"][0] == 0
    assert math.isfinite(ladder["a"][0]) and ladder["a"][1] > 0  # a sweep: clearly above c
    with pytest.raises(ValueError, match="anchor"):
        elo_ladder(results, anchor="d")
    with pytest.raises(ValueError, match="points"):
        elo_ladder([("a", "b", 21, 20)], anchor="a")


def test_permutation_test_tells_shifted_samples_from_exchangeable_ones():
    rng = np.random.default_rng(0)
    same = permutation_test(rng.normal(0, 1, 30), rng.normal(0, 1, 30), rounds=2000)
    shifted = permutation_test(rng.normal(0, 1, 30), rng.normal(2, 1, 30), rounds=2000)
    assert same > 0.05 and shifted == 2 / 2001  # no relabelling as extreme, in either tail
    assert permutation_test([1, 2, 3], [1, 2, 3], rounds=100) == 1.0  # every split as far apart
    with pytest.raises(ValueError, match="two samples"):
        permutation_test([], [1.0])


def test_a_p_value_at_the_permutation_tests_floor_is_printed_as_a_bound():
    assert p_value_text(2 / 20_001, 20_000) == "p < 1e-4"  # 9.9995e-5: below 1e-4
    assert p_value_text(2 / 2_001, 2_000) == "p < 1e-3"
    assert p_value_text(2 / 2_000, 1_999) == "p <= 1e-3"  # the floor is 1e-3 itself
    assert p_value_text(0.0312, 20_000) == p_value_text(0.0312) == "p = 0.03"


def test_margin_counts_tally_each_margin_largest_first():
    assert margin_counts([3.0, 25.0, -6.0, 25.0, 3.0, 25.0]) == "+25 x3, +3 x2, -6 x1"
    assert margin_counts([]) == ""
    assert margin_counts([-0.0, 0.0, -0.0]) == "+0 x3"  # a draw seen from White's side is no -0


def test_by_colour_splits_alternating_games():
    margins = [25.0, -3.0, 0.0, 4.0, -1.0]  # Black, White, Black, White, Black
    assert by_colour(margins) == {"Black": (1, 1, 1), "White": (1, 0, 1)}


def test_stored_match_prints_and_returns_the_rows(tmp_path, capsys):
    row = {
        "checkpoint": "iter_0010.safetensors",
        "training_cpu_seconds": 600.0,
        "wins": 2,
        "losses": 1,
        "draws": 0,
        "margins": [3.0, -2.0, 3.0],
    }
    path = tmp_path / "match.json"
    command = "python benchmarks/strength_curve.py X"
    path.write_text(json.dumps({"command": command, "results": [row]}))
    assert stored_match(path) == [row]
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        command,
        "  iter_0010.safetensors (10 CPU-min): 2-1-0; margins +3 x2, -2 x1",
    ]


def test_a_gumbel_player_searches_as_its_network_was_trained_and_without_noise(tmp_path):
    from straw.gumbel import GumbelConfig
    from straw.nets import NetConfig, PolicyValueNet, save_network

    path = tmp_path / "net.safetensors"
    net = PolicyValueNet(NetConfig(size=5, blocks=1, channels=8)).eval()
    trained = {"search": "gumbel", "num_considered": 4, "c_scale": 0.1, "score_weight": 1.0}
    save_network(net, path, train_config=trained)
    players = [make_player(f"gumbel:{path}", size=5, simulations=8, seed=s) for s in (0, 1)]
    config = players[0].config
    assert isinstance(config, GumbelConfig) and config.gumbel_scale == 0
    assert (config.num_considered, config.c_scale) == (4, 0.1) and config.utility is not None
    games = [play_game(player, RandomPlayer(seed=2), 5, 0.0).moves for player in players]
    assert games[0] == games[1]  # no noise: the seed changes nothing
    with pytest.raises(ValueError, match="takes no Dirichlet noise"):
        make_player(f"gumbel:{path}", size=5, noise=True)
