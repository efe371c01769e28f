"""The home page's figure: a target for every move against one reward for a whole answer.

    .venv/bin/python book/figures/intro_figure.py   # writes book/figures/intro_figure.svg

Top: one game of tic-tac-toe, lost by O. Before every move, of either player, a search (UCT with
random rollouts, `straw.mcts`) from the position gives a distribution over the squares: the
target the learner is trained to imitate at that move. The exact solver (`straw.solver`) says
which moves were mistakes; the search's favourite is checked against it. Bottom: one sampled
answer of a policy over tokens, scored pass/fail at the end; the weight each token's score gets
in the REINFORCE gradient (`straw.estimators`) is that one reward, whichever token earned it.
Every number drawn is computed here, and the script fails if the figure would say otherwise.
The browser test redraws it and fails if the committed SVG differs.
"""

from pathlib import Path

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from straw import estimators, mcts, solver  # noqa: E402
from straw.tictactoe import TicTacToe  # noqa: E402

OUT = Path(__file__).with_suffix(".svg")
GAME = [4, 1, 0, 8, 6, 2, 3]  # O's reply on an edge (square 1) loses to the fork at square 6
SIMULATIONS = 3000
ANSWER_LENGTH = 8


def search_targets(moves: list[int]) -> list[tuple[TicTacToe, np.ndarray, set[int]]]:
    """For each position before a move: the state, the search's visit distribution, and the
    solver's optimal moves."""
    state, rows = TicTacToe(), []
    for move in moves:
        tree = mcts.Tree(state, mcts.SearchConfig(rule=mcts.UCT(), seed=0))
        mcts.run(tree, mcts.rollout_evaluator(seed=0), SIMULATIONS)
        values = solver.action_values(state)
        best = max(values.values())
        rows.append((state, tree.improved_policy(), {a for a, v in values.items() if v == best}))
        state = state.play(move)
    assert state.is_terminal() and state.winner() == 1, "the drawn game must be won by X"
    return rows


def draw_board(ax, state: TicTacToe, target: np.ndarray, played: int, optimal: set[int]):
    """One position: its stones, the search's share of simulations on each empty square (in
    percent, written where it is 10% or more), and the move played, boxed."""
    ax.imshow(target.reshape(3, 3), cmap="Blues", vmin=0, vmax=1)
    for square in range(9):
        row, col = divmod(square, 3)
        mark = {1: "X", -1: "O"}.get(state.board[square])
        if mark:
            ax.text(col, row, mark, ha="center", va="center", fontsize=17, weight="bold")
        elif target[square] >= 0.1:
            color = "white" if target[square] > 0.6 else "black"
            ax.text(col, row, f"{target[square]:.0%}".rstrip("%"), ha="center", va="center",
                    fontsize=10, c=color)  # fmt: skip
    row, col = divmod(played, 3)
    color = "tab:green" if played in optimal else "tab:red"
    ax.add_patch(plt.Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, lw=3, ec=color))
    ax.set_xticks([])
    ax.set_yticks([])


def sampled_answer() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One answer of a 3-token per-position policy, its per-token rewards (pass/fail at the
    end), and the weight c_t of each token's score in single-step and multi-step REINFORCE."""
    policy = estimators.per_position(np.zeros((ANSWER_LENGTH, 3)))
    answer = estimators.sample_sequences(policy, 1, np.random.default_rng(3))
    passed = np.array([1.0])
    rewards = estimators.terminal_reward(passed, ANSWER_LENGTH)
    single = estimators.single_step_weights(rewards)
    multi = estimators.multi_step_weights(rewards)
    assert np.array_equal(single, multi) and np.all(single == passed[0])
    return answer[0], rewards[0], single[0]


def draw(path: Path) -> None:
    """Compute everything the figure shows, check what the caption says, and save it as SVG."""
    targets = search_targets(GAME)
    mistakes = [i for i, (_, _, optimal) in enumerate(targets) if GAME[i] not in optimal]
    assert mistakes == [1], f"the game's only mistake should be O's first move, not {mistakes}"
    corners = [0, 2, 6, 8]  # the answers to a centre opening that do not lose
    assert targets[1][1][corners].sum() > 0.5, "at O's mistake the search favours the corners"
    favourites = [int(np.argmax(target)) for _, target, _ in targets]
    assert all(fav in optimal for fav, (_, _, optimal) in zip(favourites, targets, strict=True))

    # No date and fixed element ids: the same code draws the same file, byte for byte. The
    # figure is drawn at about the width it is shown (the text column, some 750 px), so that its
    # smallest text, the percentages, reads at about 13 px.
    plt.rcParams["svg.hashsalt"] = "intro_figure"
    fig = plt.figure(figsize=(7.5, 4.4))
    top = fig.add_gridspec(1, len(GAME), left=0.01, right=0.99, top=0.80, bottom=0.44, wspace=0.08)
    for i, (state, target, optimal) in enumerate(targets):
        ax = fig.add_subplot(top[0, i])
        draw_board(ax, state, target, GAME[i], optimal)
        player = "X" if state.to_play == 1 else "O"
        ax.set_title(f"{i + 1}: {player}", fontsize=11)
    fig.text(
        0.5,
        0.935,
        "Search: a target for every move, even in the game O lost",
        ha="center",
        fontsize=12.5,
        weight="bold",
    )
    fig.text(
        0.5,
        0.865,
        f"number: % of {SIMULATIONS} UCT simulations; box: move played (red: the mistake)",
        ha="center",
        fontsize=10.5,
    )

    answer, rewards, weights = sampled_answer()
    ax = fig.add_axes([0.2, 0.02, 0.78, 0.27])
    for t, token in enumerate(answer):
        ax.add_patch(plt.Rectangle((t, 1), 0.9, 0.8, fc="whitesmoke", ec="gray"))
        ax.text(t + 0.45, 1.4, "abc"[token], ha="center", va="center", fontsize=13,
                family="monospace")  # fmt: skip
        ax.text(t + 0.45, 0.55, f"{rewards[t]:g}", ha="center", va="center", fontsize=12)
        ax.text(t + 0.45, 0.05, f"{weights[t]:g}", ha="center", va="center", fontsize=12)
    for y, label in [(1.4, "token $y_t$"), (0.55, "reward $r_t$"), (0.05, "weight $c_t$")]:
        ax.text(-0.2, y, label, ha="right", va="center", fontsize=12)
    ax.set_xlim(-0.1, ANSWER_LENGTH)
    ax.set_ylim(-0.25, 1.85)
    ax.axis("off")
    fig.text(
        0.5,
        0.35,
        "Policy gradient: one reward at the end weighs every token",
        ha="center",
        fontsize=12.5,
        weight="bold",
    )
    fig.savefig(path, metadata={"Date": None})
    plt.close(fig)


if __name__ == "__main__":
    draw(OUT)
    print(f"wrote {OUT.name}")
