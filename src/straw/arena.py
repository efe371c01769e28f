"""Go players and the matches between them: who wins, how often, and what that says in Elo.

A *player* is anything with three methods (`Player`): `new_game(size, komi)`, `play(action)`
for every move of the game, its own and its opponent's, and `genmove()`, which returns the move
it chooses without playing it. The GTP engine (`straw.gtp`) serves any such player, and GNU Go
over GTP is one (`straw.gtp_client.GnuGoPlayer`). Here are the others:

- `RandomPlayer`: the rollout policy of Monte Carlo Go (`straw.go.random_move`).
- `MCTSPlayer`: `straw.mcts` with any evaluator; by default random rollouts with that policy and
  the UCT rule, a pure Monte Carlo player. The tree is kept between moves.
- `network_player(net)`: the AlphaZero player, an `MCTSPlayer` with `PUCT` guided by a trained
  network of `straw.nets` (torch is imported only for it); with `gumbel`, the same network
  playing by Gumbel sequential halving at the root instead (`straw.gumbel`), as Danihelka et al.
  (2022) play.
- `PolicyPlayer`: the same network's raw policy, each move sampled from it, no search.

`make_player(spec)` builds any of them from a word, as the command line and the benchmarks name
them: `random`, `mcts:N`, `gnugo:L`, `net:FILE`, `gumbel:FILE` or `policy:FILE`.

`play_game` plays one game to the end (two passes, or a move cap) and scores it by Tromp-Taylor
into a `straw.sgf.GameRecord`;
`match` plays a series with alternating colours and reports the score with a 95% Wilson interval
and the Elo difference that score implies, with its interval, and every game's margin
(`margin_counts` tallies them); `elo_ladder` rates many players at once from the matches between
them (Bradley-Terry, as BayesElo).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from scipy import stats

from straw import mcts
from straw.go import Position, move_cap, random_move
from straw.gumbel import GumbelConfig
from straw.sgf import GameRecord

if TYPE_CHECKING:
    from straw.nets import PolicyValueNet

Z_95 = 1.959963984540054  # the 97.5% quantile of the standard normal


class Player(Protocol):
    """What a match, and the GTP engine, need from a Go player.

    new_game(size, komi)   start a game on an empty board
    play(action)           a move by whoever is to move, in order; the player keeps its own Position
    genmove() -> action    a move for the side to move, which it does not play: the caller then
                           calls play(action) on every player, this one included
    """

    def new_game(self, size: int, komi: float) -> None: ...

    def play(self, action: int) -> None: ...

    def genmove(self) -> int: ...


class RandomPlayer:
    """A uniformly random legal play that does not fill its own eye; a pass when none is left."""

    def __init__(self, seed: int = 0, suicide_allowed: bool = False):
        self.rng = np.random.default_rng(seed)
        self.suicide_allowed = suicide_allowed
        self.position = Position(9, 7.5, suicide_allowed)

    def new_game(self, size: int, komi: float) -> None:
        self.position = Position(size, komi, self.suicide_allowed)

    def play(self, action: int) -> None:
        self.position = self.position.play(action)

    def genmove(self) -> int:
        return random_move(self.position, self.rng)


class MCTSPlayer:
    """Search `simulations` times from the current position and play the most visited move.

    `evaluate` defaults to one eye-avoiding random rollout per leaf, and `config` to the UCT rule
    without root noise: a pure Monte Carlo tree search player. The subtree under the moves played
    is kept for the next search (`reuse_tree`), so its visits count towards the next move. Root
    noise, if `config` asks for it, comes from one generator for all the player's games (seeded
    with `config.seed`), so that each game of a match draws noise of its own. A
    `straw.gumbel.GumbelConfig` as `config` searches with a Gumbel root instead: a new tree every
    move, since its halving is planned for one search.
    """

    def __init__(
        self,
        simulations: int = 400,
        evaluate: mcts.Evaluate | None = None,
        seed: int = 0,
        config: mcts.SearchConfig | None = None,
        suicide_allowed: bool = False,
        reuse_tree: bool = True,
    ):
        if simulations < 1:
            raise ValueError(f"a search needs at least one simulation, not {simulations}")
        self.simulations = simulations
        self.evaluate = evaluate or mcts.rollout_evaluator(seed=seed, policy=random_move)
        self.config = config or mcts.SearchConfig(rule=mcts.UCT(), seed=seed)
        self.rng = np.random.default_rng(self.config.seed)  # the root noise of every search
        self.suicide_allowed = suicide_allowed
        self.reuse_tree = reuse_tree and not isinstance(self.config, GumbelConfig)
        self.position = Position(9, 7.5, suicide_allowed)
        self.tree: mcts.Tree | None = None

    def new_game(self, size: int, komi: float) -> None:
        self.position = Position(size, komi, self.suicide_allowed)
        self.tree = None

    def play(self, action: int) -> None:
        self.position = self.position.play(action)
        if self.tree is not None and self.reuse_tree:
            self.tree.advance(action)
        else:
            self.tree = None

    def genmove(self) -> int:
        if self.position.is_terminal():
            raise ValueError("the game is over: there is no move to generate")
        if isinstance(self.config, GumbelConfig):
            self.tree = self.config.new_tree(self.position, self.simulations)
        elif self.tree is None:
            self.tree = mcts.Tree(self.position, self.config, self.rng)
        mcts.run(self.tree, self.evaluate, self.simulations)
        return self.tree.best_action()


def network_player(
    net: PolicyValueNet,
    simulations: int = 64,
    seed: int = 0,
    noise: bool = False,
    suicide_allowed: bool = False,
    score_weight: float = 0.0,
    gumbel: GumbelConfig | None = None,
) -> MCTSPlayer:
    """The AlphaZero player: the same search with the PUCT rule, guided by the network `net`.
    With `noise`, Dirichlet noise at the root of every search, alpha = 10 / moves on the empty
    board as in self-play, so that games against a deterministic opponent are not all alike.
    `score_weight` values the games that end inside the search by `straw.go.utility`; it must be
    the weight the network's values were trained on (`make_player` reads it from the file).
    With `gumbel`, the root is Gumbel sequential halving with those settings (their utility and
    seed replaced by this player's) and `noise` must be off: the noise of a Gumbel root is its
    `gumbel_scale`."""
    from straw.nets import evaluator

    utility = partial(Position.utility, score_weight=score_weight) if score_weight else None
    if gumbel is not None:
        if noise:
            raise ValueError("a Gumbel root takes no Dirichlet noise; set its gumbel_scale")
        search = replace(gumbel, seed=seed, utility=utility)
    else:
        alpha = 10 / (net.config.size**2 + 1) if noise else None
        search = mcts.SearchConfig(mcts.PUCT(), dirichlet_alpha=alpha, seed=seed, utility=utility)
    return MCTSPlayer(simulations, evaluator(net), seed, search, suicide_allowed)


class PolicyPlayer(RandomPlayer):
    """A network's raw policy, no search: every move sampled from its priors renormalised over
    the legal moves, as AlphaGo's policy networks played on their own (Silver et al. 2016) and
    as `straw.outcome_rl` trains them. `evaluate` is `straw.nets.evaluator(net)`; the game is
    kept as the random player keeps it."""

    def __init__(self, evaluate: mcts.Evaluate, seed: int = 0, suicide_allowed: bool = False):
        super().__init__(seed, suicide_allowed)
        self.evaluate = evaluate

    def genmove(self) -> int:
        priors, _ = self.evaluate([self.position])
        legal = self.position.legal_actions()
        p = priors[0][legal].astype(float)
        return int(self.rng.choice(legal, p=p / p.sum()))


PLAYER_SPECS = (
    "random, mcts:N (N simulations), gnugo:L (GNU Go level L), net:FILE, gumbel:FILE or policy:FILE"
)


def make_player(
    spec: str,
    size: int | None = None,
    simulations: int = 64,
    seed: int = 0,
    noise: bool = False,
    suicide_allowed: bool = False,
) -> Player:
    """The player a word names:

        random      `RandomPlayer(seed)`
        mcts:N      `MCTSPlayer(N, seed=seed)`: N simulations of rollouts a move
        gnugo:L     GNU Go at level L (`straw.gtp_client.GnuGoPlayer`, removing dead stones)
        net:FILE    `network_player` of the network saved in FILE, `simulations` a move, with
                    root noise if `noise`; with `size`, a network for another board is refused
        gumbel:FILE the same network searching with a Gumbel root (`network_player` with
                    `gumbel`): the number of actions considered and c_scale it was trained
                    with, and no noise (`gumbel_scale` 0), as Danihelka et al. (2022) play
        policy:FILE `PolicyPlayer`: the same network's raw policy, no search

    Raises ValueError, saying what is wrong, for any other word, a number that is not a whole
    number of 0 (levels) or 1 (simulations) or more, or a FILE that is missing or no network."""
    kind, colon, value = spec.partition(":")
    if kind == "random" and not colon:
        return RandomPlayer(seed=seed, suicide_allowed=suicide_allowed)
    if kind == "mcts" and colon:
        return MCTSPlayer(_count(spec, value, 1), seed=seed, suicide_allowed=suicide_allowed)
    if kind == "gnugo" and colon:
        from straw.gtp_client import GnuGoPlayer

        return GnuGoPlayer(level=_count(spec, value, 0), capture_all_dead=True, seed=seed)
    if kind in ("net", "gumbel", "policy") and value:
        from pathlib import Path

        from straw.nets import evaluator, load_network

        if not Path(value).is_file():
            raise ValueError(f"player {spec!r}: there is no file {value}")
        net, metadata = load_network(value, size)
        if kind == "policy":
            return PolicyPlayer(evaluator(net), seed, suicide_allowed)
        trained = metadata.get("train_config", {})
        gumbel = None
        if kind == "gumbel":
            gumbel = GumbelConfig(
                trained.get("num_considered", 16),
                c_scale=trained.get("c_scale", 1.0),
                gumbel_scale=0.0,
            )
        score_weight = trained.get("score_weight", 0.0)
        return network_player(net, simulations, seed, noise, suicide_allowed, score_weight, gumbel)
    raise ValueError(f"a player is {PLAYER_SPECS}; not {spec!r}")


def _count(spec: str, text: str, least: int) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < least:
        raise ValueError(f"player {spec!r}: {text!r} is not a whole number of {least} or more")
    return int(text)


# ----------------------------------------------------------------------------------------------
# One game.


def play_game(
    black: Player,
    white: Player,
    size: int,
    komi: float,
    suicide_allowed: bool = False,
    max_moves: int | None = None,
    names: tuple[str, str] = ("Black", "White"),
) -> GameRecord:
    """Play one game between two players to two passes in a row, or to `max_moves` moves
    (default: `straw.go.move_cap`, 3 x the board's area), and score it by Tromp-Taylor. The
    record keeps the final position (`record.position`; it is not terminal if the cap ended the
    game) and saves as SGF with `straw.sgf.write_sgf`. An illegal move from a player raises
    `IllegalMove` naming it."""
    cap = move_cap(size) if max_moves is None else max_moves
    position = Position(size, komi, suicide_allowed)
    black.new_game(size, komi)
    white.new_game(size, komi)
    moves: list[int] = []
    while not position.is_terminal() and len(moves) < cap:
        mover = black if position.to_play == 1 else white
        action = mover.genmove()
        try:
            position = position.play(action)
        except ValueError as error:
            name = names[0] if mover is black else names[1]
            raise type(error)(f"{name} played an illegal move: {error}") from error
        black.play(action)
        white.play(action)
        moves.append(action)
    black_name, white_name = names
    return GameRecord(
        size, komi, tuple(moves), position.result(), black_name, white_name, position=position
    )


# ----------------------------------------------------------------------------------------------
# A match, and what its score says.


def wilson_interval(successes: float, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval for a proportion (a draw counts as half a success). Written out
    here because scipy's (`binomtest(...).proportion_ci(method="wilson")`) takes whole
    successes, and a match's score with its half-won draws is not one."""
    if trials <= 0:
        raise ValueError("an interval needs at least one game")
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials**2)) / (1 + z * z / trials)
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends: no rounding error
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def sign_test(better: int, worse: int) -> float:
    """The two-sided p-value of the sign test: how likely a split at least as uneven as `better`
    against `worse` is if either side were equally likely (ties are left out before counting):
    scipy's exact binomial test at 1/2, and 1 when nothing is left to count."""
    if better < 0 or worse < 0:
        raise ValueError(f"counts are 0 or more, not {better} and {worse}")
    return float(stats.binomtest(better, better + worse).pvalue) if better + worse else 1.0


PERMUTATION_ROUNDS = 20_000  # relabellings of every permutation test in the book


def permutation_test(a, b, rounds: int = PERMUTATION_ROUNDS, seed: int = 0) -> float:
    """The two-sided p-value of a permutation test of equal means, for two samples of game
    margins (say): scipy's, with `rounds` random relabellings of the pooled values. Each tail
    counts the observed split among the relabellings, so the smallest p is 2 / (rounds + 1):
    print it with `p_value_text`, which says "p < ..." there."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) == 0 or len(b) == 0:
        raise ValueError("a permutation test needs two samples with at least one value each")

    def difference(x, y, axis):
        return np.mean(x, axis=axis) - np.mean(y, axis=axis)

    result = stats.permutation_test(
        (a, b), difference, n_resamples=rounds, vectorized=True, rng=np.random.default_rng(seed)
    )
    return float(result.pvalue)


def p_value_text(p: float, rounds: int | None = None) -> str:
    """A p-value as the text gives it, to one significant figure: 'p = 0.03'. For a permutation
    test of `rounds` relabellings, a p at its floor 2 / (rounds + 1) says only that no
    relabelling was as extreme as the data: 'p < 1e-4' (the floor, rounded up to a power of ten)."""
    if rounds is not None and p <= 2 / (rounds + 1) * (1 + 1e-9):
        power = math.ceil(math.log10(2 / (rounds + 1)))
        return f"p {'<' if 2 / (rounds + 1) < 10**power else '<='} 1e{power}"
    return f"p = {p:.1g}"


def elo(score: float) -> float:
    """The Elo difference at which the stronger side expects this score: 400 log10(s / (1 - s)).
    A score of 0 or 1 gives minus or plus infinity (no finite difference explains it)."""
    if not 0 <= score <= 1:
        raise ValueError(f"a score is between 0 and 1, not {score}")
    if score in (0, 1):
        return math.copysign(math.inf, score - 0.5)
    return 400 * math.log10(score / (1 - score))


def margin_counts(margins) -> str:
    """'+25 x18, +3 x2': how often each final margin came in a match, largest first."""
    counts = Counter(m + 0.0 for m in margins)  # -0.0 and 0.0 are one draw
    return ", ".join(f"{m:+g} x{counts[m]}" for m in sorted(counts, reverse=True))


def by_colour(margins) -> dict[str, tuple[int, int, int]]:
    """Wins, draws and losses as Black and as White, for a match whose colours alternate with
    its player Black in the first game (the margins are from that player's view)."""
    return {
        colour: (sum(m > 0 for m in part), sum(m == 0 for m in part), sum(m < 0 for m in part))
        for colour, part in (("Black", list(margins)[0::2]), ("White", list(margins)[1::2]))
    }


def stored_match(path) -> list[dict]:
    """A match stored by `benchmarks/strength_curve.py`: prints its command and, for each
    network, its training time, wins-losses-draws and margins; returns the rows."""
    part = json.loads(Path(path).read_text())
    print(part["command"])
    for r in part["results"]:
        print(
            f"  {r['checkpoint']} ({r['training_cpu_seconds'] / 60:.0f} CPU-min): "
            f"{r['wins']}-{r['losses']}-{r['draws']}; margins {margin_counts(r['margins'])}"
        )
    return part["results"]


@dataclass
class MatchResult:
    """A match from the first player's view."""

    wins: int = 0
    losses: int = 0
    draws: int = 0
    records: list[GameRecord] = field(default_factory=list)
    margins: list[float] = field(default_factory=list)  # each game's final score for the first

    @property
    def games(self) -> int:
        return self.wins + self.losses + self.draws

    @property
    def score(self) -> float:
        return (self.wins + 0.5 * self.draws) / self.games

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.wins + 0.5 * self.draws, self.games)

    @property
    def elo(self) -> float:
        return elo(self.score)

    @property
    def elo_interval(self) -> tuple[float, float]:
        low, high = self.interval
        return elo(low), elo(high)

    def __str__(self) -> str:
        low, high = self.interval
        elo_low, elo_high = self.elo_interval
        return (
            f"{self.wins}-{self.losses}-{self.draws} in {self.games} games: "
            f"score {self.score:.3f} (95% {low:.3f} to {high:.3f}), "
            f"Elo {self.elo:+.0f} ({elo_low:+.0f} to {elo_high:+.0f})"
        )


def match(
    first: Player,
    second: Player,
    games: int,
    size: int,
    komi: float,
    suicide_allowed: bool = False,
    max_moves: int | None = None,
    names: tuple[str, str] = ("first", "second"),
    on_game: Callable[[GameRecord], None] | None = None,
    first_colour: str = "alternate",
) -> MatchResult:
    """Play `games` games, `first` taking Black in the even-numbered ones (0, 2, ...) and White
    in the others (`first_colour` "black" or "white": that colour in every game); the result
    counts from `first`'s view, and `result.margins` holds each game's margin for `first`."""
    if games < 1:
        raise ValueError(f"a match needs at least one game, not {games}")
    if first_colour not in ("alternate", "black", "white"):
        raise ValueError(f"first_colour is alternate, black or white, not {first_colour!r}")
    result = MatchResult()
    for game in range(games):
        first_is_black = first_colour == "black" or (first_colour == "alternate" and game % 2 == 0)
        black, white = (first, second) if first_is_black else (second, first)
        pair = names if first_is_black else names[::-1]
        record = play_game(black, white, size, komi, suicide_allowed, max_moves, pair)
        black_margin = record.position.score()
        won = (black_margin if first_is_black else -black_margin) + 0.0  # a draw is 0, not -0
        result.margins.append(won)
        if won > 0:
            result.wins += 1
        elif won < 0:
            result.losses += 1
        else:
            result.draws += 1
        result.records.append(record)
        if on_game is not None:
            on_game(record)
    return result


# ----------------------------------------------------------------------------------------------
# A ladder: Elo ratings of many players from the matches between them.


def elo_ladder(
    results: list[tuple[str, str, float, int]], anchor: str, prior_draws: float = 1.0
) -> dict[str, tuple[float, float, float]]:
    """Elo ratings of every player from matches `(first, second, points of first, games)`, each
    with a 95% interval, the `anchor` player fixed at 0 (its interval is 0 wide).

    The Bradley-Terry model: P(a beats b) = 1 / (1 + 10^((R_b - R_a) / 400)), draws counting half
    a win each way. The ratings maximise the likelihood of the results plus `prior_draws`
    virtual drawn games for every pair that met (BayesElo's prior: without it, a player who won
    every game would be rated infinitely strong). The intervals are the Laplace approximation:
    +-1.96 standard errors from the inverse of the information matrix."""
    players = sorted({name for a, b, _, _ in results for name in (a, b)})
    if anchor not in players:
        raise ValueError(f"the anchor {anchor!r} played no game")
    index = {name: i for i, name in enumerate(players)}
    pairs: dict[tuple[int, int], list[float]] = {}
    for a, b, points, games in results:
        if not 0 <= points <= games:
            raise ValueError(f"{a} against {b}: {points} points in {games} games")
        i, j = index[a], index[b]
        wins, played = pairs.setdefault((i, j), [prior_draws / 2, prior_draws])
        pairs[i, j] = [wins + points, played + games]
    scale = math.log(10) / 400
    free = [i for i in range(len(players)) if players[i] != anchor]
    ratings = np.zeros(len(players))
    for _ in range(100):  # Newton's method on the log-likelihood
        gradient = np.zeros(len(players))
        information = np.zeros((len(players), len(players)))
        for (i, j), (wins, played) in pairs.items():
            expected = 1 / (1 + math.exp(scale * (ratings[j] - ratings[i])))
            gradient[i] += scale * (wins - played * expected)
            gradient[j] -= scale * (wins - played * expected)
            weight = scale**2 * played * expected * (1 - expected)
            information[i, i] += weight
            information[j, j] += weight
            information[i, j] -= weight
            information[j, i] -= weight
        sub = information[np.ix_(free, free)]
        step = np.linalg.solve(sub, gradient[free])
        ratings[free] += step
        if np.abs(step).max() < 1e-9:
            break
    errors = np.zeros(len(players))
    errors[free] = np.sqrt(np.diag(np.linalg.inv(sub)))
    return {
        name: (
            float(ratings[i]),
            float(ratings[i] - Z_95 * errors[i]),
            float(ratings[i] + Z_95 * errors[i]),
        )
        for name, i in index.items()
    }
