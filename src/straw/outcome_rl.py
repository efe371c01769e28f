"""Go through the straw: policy gradient from the game's outcome, no search.

    games = play_policy_games(evaluator(net), config, games=64, seed=0)   # raw policy, batched
    c = advantages(games, "rloo", group_size=8)                           # one weight per move
    terms = pg_loss_terms(net, games, c, entropy_weight=0.01, weight_decay=1e-4)

The network plays itself with no search: every move is sampled from its raw policy, the softmax
of its logits over the legal moves. When a game ends, its one result z (Black's Tromp-Taylor
score turned into a value by `straw.go.utility`, the same win/loss-and-margin mix the AlphaZero
loop's value learns) is the return of every move of that game, from the view of the player who
made it. The gradient of a batch of games is REINFORCE's

    g = (1/games) sum_games sum_t c_t grad log pi(a_t | s_t),

as in Part III, where a game is an answer and a move a token. AlphaGo's RL policy network was
trained this way, on z = +-1, from its own self-play (Silver et al. 2016). The weights c_t:

    baseline   "none"    c_t = z                        REINFORCE
               "rloo"    z minus the mean z of the other games of its group: every game
                         starts from the empty board, so a group of `group_size` games is a
                         group of answers to one prompt (Kool et al. 2019)
               "grpo"    (z - mean) / std over the group (Shao et al. 2024)
               "critic"  c_t = z - v(s_t), the network's own value of the position before the
                         move (the actor-critic form; a baseline per position, not per game)

The group baselines are `straw.policy_gradients.weights` itself, applied to each game's result
from Black's view (a group's mean and spread do not care whose view it is; the sign for the
player to move is applied after). Whatever the baseline, the value head learns z by squared
error on every position, as AlphaZero's does, so that the trained network can also be searched
with at play time; with "critic" it is also the baseline.

The log-probabilities are taken with batch norm in its inference form, the same function that
sampled the moves (a batch's own statistics would make each move's probability depend on the
other positions of the batch, and the estimator would no longer be the gradient of anything
the player does); `refresh_batch_norm` then moves the running statistics towards the batch.

Measuring the straw: `signal_noise` compares, on the same positions, the noise of this
gradient with that of the AlphaZero loss's policy term (the search's target at every move);
`exact_gradient` gives what the estimator estimates, by enumerating every game of a tiny board.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch

from straw import mcts
from straw.go import Position, utility
from straw.nets import PolicyValueNet, encode, evaluator
from straw.policy_gradients import gradient_stats, weights
from straw.selfplay import SelfPlayBatch, SelfPlayConfig, game_rows

BASELINES = ("none", "rloo", "grpo", "critic")
MASKED = -1e9  # the logit of an illegal move: exp() of it is 0, and 0 * it is 0, not NaN


@dataclass
class PolicyGames:
    """Finished games of the raw policy, one row per move. `rows` holds the planes, results,
    ownership and margins as search self-play records them, its `policies` the move played
    (one-hot); `actions` (n,) the moves; `legal` (n, area + 1) the legal moves there;
    `predicted_values` (n,) the network's value of each position when it was played."""

    rows: SelfPlayBatch
    actions: np.ndarray
    legal: np.ndarray
    predicted_values: np.ndarray

    def games(self) -> int:
        return len(self.rows.moves)

    def game_of_row(self) -> np.ndarray:
        return np.repeat(np.arange(self.games()), self.rows.lengths)

    def to_play(self) -> np.ndarray:
        """+1 where Black was to move, -1 where White was (plane 2 of the encoding)."""
        return np.where(self.rows.planes[:, 2, 0, 0] == 1, 1.0, -1.0)


def play_policy_games(evaluate, config: SelfPlayConfig, games: int, seed: int) -> PolicyGames:
    """Play `games` games at once, every move sampled from `evaluate`'s priors renormalised over
    the legal moves; one network call per move for all the games still going. Of `config` only
    the board, komi, suicide rule, move cap and score weight are used."""
    rng = np.random.default_rng(seed)
    area = config.size**2
    states = [Position(config.size, config.komi, config.suicide_allowed)] * games
    history: list[list[Position]] = [[] for _ in range(games)]
    actions: list[list[int]] = [[] for _ in range(games)]
    legal_rows: list[list[np.ndarray]] = [[] for _ in range(games)]
    values: list[list[float]] = [[] for _ in range(games)]
    active = list(range(games))
    while active:
        priors, predicted = evaluate([states[g] for g in active])
        for g, prior, value in zip(active, priors, predicted, strict=True):
            legal = states[g].legal_actions()
            p = prior[legal].astype(float)
            if not p.sum() > 0:
                raise ValueError(f"the policy gives the legal moves no probability:\n{states[g]}")
            action = int(rng.choice(legal, p=p / p.sum()))
            mask = np.zeros(area + 1, dtype=bool)
            mask[legal] = True
            history[g].append(states[g])
            actions[g].append(action)
            legal_rows[g].append(mask)
            values[g].append(float(value))
            states[g] = states[g].play(action)
        active = [
            g
            for g in active
            if not states[g].is_terminal() and len(actions[g]) < config.move_limit()
        ]
    return policy_games(history, actions, legal_rows, values, states, config)


def policy_games(
    history: list[list[Position]],
    actions: list[list[int]],
    legal: list[list[np.ndarray]],
    values: list[list[float]],
    final: list[Position],
    config: SelfPlayConfig,
) -> PolicyGames:
    """Games as `PolicyGames`, given for each game its positions before every move, the moves,
    the legal moves (boolean masks) and the network's values there, and its final position."""
    area = config.size**2
    columns = {name: [empty] for name, empty in SelfPlayBatch.no_rows(config.size).items()}
    for g, end in enumerate(final):
        one_hot = np.eye(area + 1, dtype=np.float32)[actions[g]]
        rows = game_rows(history[g], one_hot, end.score(), np.array(end.ownership()), config)
        for name, column in rows.items():
            columns[name].append(column)
    batch = SelfPlayBatch(
        **{name: np.concatenate(column) for name, column in columns.items()},
        moves=actions,
        recorded=[list(range(len(a))) for a in actions],
        scores=[float(end.score()) for end in final],
    )
    return PolicyGames(
        batch,
        np.array(sum(actions, []), dtype=np.int64),
        np.array(sum(legal, []), dtype=bool).reshape(-1, area + 1),
        np.array(sum(values, []), dtype=np.float32),
    )


def advantages(
    games: PolicyGames, baseline: str, group_size: int, values: np.ndarray | None = None
) -> np.ndarray:
    """c_t for every row: the return z of the row's game for the player to move there, less the
    `baseline` (see the module docstring); "critic" takes the network's `values` (n,) there."""
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}; got {baseline!r}")
    returns = games.rows.values.astype(float)  # z for the player to move, as the value learns it
    if baseline == "critic":
        if values is None:
            raise ValueError("the critic baseline needs the network's values of the positions")
        return returns - values
    to_play = games.to_play()
    game_of_row = games.game_of_row()
    black_return = np.zeros(games.games())
    black_return[game_of_row] = returns * to_play  # every row of a game agrees: z from Black's view
    group = group_size if baseline != "none" else 1
    per_game = weights(black_return[:, None], group, "single", baseline)[:, 0]
    return per_game[game_of_row] * to_play


def pg_loss_terms(
    net: PolicyValueNet,
    games: PolicyGames,
    c: np.ndarray,
    entropy_weight: float,
    weight_decay: float,
) -> dict[str, torch.Tensor]:
    """The surrogate whose negative gradient is g, -(1/games) sum c_t log pi(a_t | s_t); the
    value head's squared error on z; minus `entropy_weight` times the mean entropy of the policy
    over the legal moves; -log of the mass the softmax over all actions gives the legal moves
    (the AlphaZero loss holds it near 1 through its targets, zero on every illegal move); the L2
    term of the AlphaZero loss; and their sum, "loss". The network is evaluated as it is (call
    `net.eval()` for the inference form of batch norm)."""
    planes = torch.from_numpy(games.rows.planes.astype(np.float32))
    out = net.outputs(planes, auxiliary=False)
    legal = torch.from_numpy(games.legal)
    log_probs = torch.log_softmax(out["policy"].masked_fill(~legal, MASKED), dim=1)
    # -log of the mass the softmax over every action puts on the legal moves: nothing else
    # holds the illegal moves' logits down, and a search reads its priors from that softmax
    illegal_mass = (
        torch.logsumexp(out["policy"], 1)
        - torch.logsumexp(out["policy"].masked_fill(~legal, MASKED), 1)
    ).mean()
    chosen = log_probs.gather(1, torch.from_numpy(games.actions)[:, None])[:, 0]
    weight = torch.as_tensor(c, dtype=chosen.dtype)
    policy_loss = -(weight * chosen).sum() / games.games()
    entropy = -torch.where(legal, log_probs.exp() * log_probs, 0.0).sum(1).mean()
    value_loss = ((torch.from_numpy(games.rows.values) - out["value"]) ** 2).mean()
    l2 = weight_decay * sum((p**2).sum() for name, p in net.named_parameters() if "weight" in name)
    loss = policy_loss - entropy_weight * entropy + value_loss + illegal_mass + l2
    return {
        "loss": loss,
        "policy_loss": policy_loss,
        "value_loss": value_loss,
        "entropy": entropy.detach(),
        "illegal_mass": illegal_mass,
        "l2": l2,
    }


@torch.no_grad()
def refresh_batch_norm(net: PolicyValueNet, games: PolicyGames) -> None:
    """Move every batch norm's running statistics towards those of the batch's positions (one
    forward pass in training mode, no gradient), as a training step in that mode would."""
    net.train()
    net(torch.from_numpy(games.rows.planes.astype(np.float32)))
    net.eval()


# ----------------------------------------------------------------------------------------------
# The learning signal's noise: one gradient per position, and per game.


def per_position_gradients(
    net: PolicyValueNet, planes: np.ndarray, legal: np.ndarray, targets: np.ndarray, chunk_size=256
) -> torch.Tensor:
    """grad_theta sum_a targets[i, a] log pi(a | s_i) for every row i, shape (n, D), given the
    rows' input planes and legal moves (as `PolicyGames` holds them), flat in the order of
    `net.parameters()`, with batch norm in its inference form.

    With targets = c_i * onehot(a_i) a row is one move's term of REINFORCE; with targets the
    search's improved policy it is one position's term of the distillation the AlphaZero loss
    takes (the negative gradient of its cross-entropy). One `torch.func.vmap` over `grad`."""
    from torch.func import functional_call, grad, vmap

    net.eval()
    names, shapes = zip(*((n, p.shape) for n, p in net.named_parameters()), strict=True)
    sizes = [shape.numel() for shape in shapes]
    flat = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    buffers = dict(net.named_buffers())

    def weighted_log_prob(flat, planes, legal, target):
        pieces = flat.split(sizes)
        params = {n: x.view(shape) for n, x, shape in zip(names, pieces, shapes, strict=True)}
        logits, _ = functional_call(net, (params, buffers), (planes[None],))
        log_probs = torch.log_softmax(logits[0].masked_fill(~legal, MASKED), dim=0)
        return (target * log_probs).sum()

    per_row = vmap(grad(weighted_log_prob), in_dims=(None, 0, 0, 0), chunk_size=chunk_size)
    planes = torch.from_numpy(planes.astype(np.float32))
    return per_row(flat, planes, torch.from_numpy(legal), torch.as_tensor(targets).float())


def intraclass_correlation(values: np.ndarray, groups: np.ndarray) -> float:
    """The share of the variance of `values` that lies between `groups` rather than within them
    (one-way ANOVA estimator, groups of unequal sizes). For value-target residuals z - v(s)
    grouped by game: how much the positions of one game share one draw of noise."""
    values = np.asarray(values, float)
    labels, index, counts = np.unique(groups, return_inverse=True, return_counts=True)
    k, n = len(labels), len(values)
    means = np.bincount(index, values) / counts
    between = (counts * (means - values.mean()) ** 2).sum() / (k - 1)
    within = ((values - means[index]) ** 2).sum() / (n - k)
    size = (n - (counts**2).sum() / n) / (k - 1)  # the effective group size
    return float((between - within) / (between + (size - 1) * within))


def signal_noise(
    net: PolicyValueNet, config: SelfPlayConfig, games: int, simulations: int, seed: int
) -> dict:
    """The noise of three learning signals on the same positions: those of `games` games of
    the network's raw policy (`play_policy_games`), each searched with `simulations` of PUCT
    (no root noise, finished games valued by `config.score_weight` as the network learned):

        distill     sum_a pi_search(a | s) grad log p(a | s)   the AlphaZero loss's policy term
        reinforce   z grad log p(a | s)                        the move played, the result
        critic      (z - v(s)) grad log p(a | s)               less the value head's guess

    For each, per position and per game (the sum of a game's rows): the trace of the covariance,
    the squared norm of the mean (unbiased) and the noise scale B = trace / squared norm
    (McCandlish et al. 2018; None where the squared norm is not measured above zero); the
    cosines between the signals' mean gradients per game; and for the value target the mean
    square of z - v(s) and its intraclass correlation within games."""
    net.eval()
    size = config.size
    evaluate = evaluator(net)
    played = play_policy_games(evaluate, config, games, seed)
    states = _positions(played, config)
    utility = partial(Position.utility, score_weight=config.score_weight)
    search = mcts.SearchConfig(rule=mcts.PUCT(), utility=utility)
    outputs = mcts.search_batched(states, evaluate, simulations, [search] * len(states))
    search_targets = np.array([out.action_weights for out in outputs])

    z = played.rows.values.astype(float)
    move = np.zeros(played.legal.shape)
    rows = np.arange(len(z))
    targets = {"distill": search_targets}
    for name, c in (("reinforce", z), ("critic", z - played.predicted_values)):
        targets[name] = move.copy()
        targets[name][rows, played.actions] = c
    report: dict = {
        "board": size,
        "games": games,
        "positions": len(z),
        "mean_game_length": round(len(z) / games, 2),
    }
    means = {}
    for name, target in targets.items():
        position, game, means[name] = _moments(net, played, target)
        report[f"{name}_position"], report[f"{name}_game"] = position, game
    for a, b in (("distill", "reinforce"), ("distill", "critic"), ("reinforce", "critic")):
        cosine = torch.nn.functional.cosine_similarity(means[a], means[b], dim=0)
        report[f"cosine_{a}_{b}"] = round(float(cosine), 4)
    residual = z - played.predicted_values
    rho = intraclass_correlation(residual, played.game_of_row())
    report["value_residual_mean_square"] = round(float(np.mean(residual**2)), 4)
    report["value_residual_icc"] = round(rho, 4)
    return report


def _moments(net, played: PolicyGames, targets: np.ndarray, rows: int = 2048):
    """The noise of one signal per position and per game, from per-position gradients taken
    `rows` at a time (all of them at once would not fit in memory on 7x7): the per-position
    trace and squared norm from running sums, the per-game ones from the games' summed rows.
    Returns the two reports and the mean gradient per game."""
    n = len(targets)
    total = sum_of_squares = None
    summed = None
    index = torch.from_numpy(played.game_of_row())
    for start in range(0, n, rows):
        part = slice(start, start + rows)
        grads = per_position_gradients(
            net, played.rows.planes[part], played.legal[part], targets[part]
        ).double()
        if total is None:
            total = torch.zeros(grads.shape[1], dtype=torch.float64)
            sum_of_squares = 0.0
            summed = torch.zeros(played.games(), grads.shape[1], dtype=torch.float64)
        total += grads.sum(0)
        sum_of_squares += float((grads**2).sum())
        summed.index_add_(0, index[part], grads)
    mean = total / n
    trace = (sum_of_squares - n * float(mean @ mean)) / (n - 1)
    per_position = _noise(trace, float(mean @ mean) - trace / n)
    stats = gradient_stats(summed)
    return per_position, _noise(stats.trace, stats.squared_norm), stats.mean


def _noise(trace: float, squared_norm: float) -> dict:
    """The trace, the (unbiased) squared norm of the mean, and the noise scale, to 4 figures."""
    return {
        "trace": float(f"{trace:.4g}"),
        "squared_norm": float(f"{squared_norm:.4g}"),
        "noise_scale": float(f"{trace / squared_norm:.4g}") if squared_norm > 0 else None,
    }


def _positions(played: PolicyGames, config: SelfPlayConfig) -> list[Position]:
    """Every position of the games, in row order, replayed from their moves."""
    states = []
    for moves in played.rows.moves:
        position = Position(config.size, config.komi, config.suicide_allowed)
        for action in moves:
            states.append(position)
            position = position.play(action)
    return states


# ----------------------------------------------------------------------------------------------
# The exact gradient, on a board small enough to play every game.


def every_game(net: PolicyValueNet, config: SelfPlayConfig) -> list[tuple[list[int], float]]:
    """Every game the raw policy can play under `config` (to two passes or the move cap), as
    (moves, probability); for boards and caps small enough to enumerate (2x2, a few moves)."""
    games = []

    def walk(position: Position, moves: list[int], probability: float) -> None:
        if position.is_terminal() or len(moves) == config.move_limit():
            games.append((moves, probability))
            return
        legal, log_pi = legal_log_policy(net, position)
        for action, p in zip(legal, log_pi.exp().tolist(), strict=True):
            walk(position.play(action), [*moves, action], probability * p)

    with torch.no_grad():
        walk(Position(config.size, config.komi, config.suicide_allowed), [], 1.0)
    return games


def legal_log_policy(net: PolicyValueNet, position: Position) -> tuple[list[int], torch.Tensor]:
    """The legal actions at `position` and log pi over them (differentiable; inference form)."""
    legal = position.legal_actions()
    logits, _ = net(torch.from_numpy(encode([position])))
    return legal, torch.log_softmax(logits[0, legal], dim=0)


def exact_gradient(net: PolicyValueNet, config: SelfPlayConfig) -> torch.Tensor:
    """What self-play's policy gradient estimates, by enumerating every game: Black climbs her
    expected result and White hers, with one network, so the gradient is

        d E[z] / d theta_Black  -  d E[z] / d theta_White,

    z Black's result (`straw.go.utility`), Black's moves drawn from the network with parameters
    theta_Black and White's from a copy with theta_White, both equal to `net`'s. Flat (D,), in
    the order of `net.parameters()`."""
    black, white = copy.deepcopy(net).eval(), copy.deepcopy(net).eval()
    expected = torch.zeros((), dtype=torch.float64)
    for moves, _ in every_game(net.eval(), config):
        position = Position(config.size, config.komi, config.suicide_allowed)
        log_p = torch.zeros((), dtype=torch.float64)
        for action in moves:
            legal, log_pi = legal_log_policy(black if position.to_play == 1 else white, position)
            log_p = log_p + log_pi[legal.index(action)].double()
            position = position.play(action)
        z = utility(position.score(), config.size, config.score_weight)
        expected = expected + log_p.exp() * z

    def flat(module):
        return torch.cat(
            [
                torch.zeros(p.numel()) if p.grad is None else p.grad.reshape(-1)
                for p in module.parameters()
            ]
        )

    expected.backward()
    return (flat(black) - flat(white)).double()
