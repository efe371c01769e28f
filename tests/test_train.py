"""The training loop: the loss falls, a killed run resumes to the same result, bad input."""

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from straw.__main__ import main
from straw.go import Position
from straw.nets import load_network, read_safetensors
from straw.selfplay import SelfPlayConfig, play_games
from straw.train import (
    RECIPES,
    ReplayBuffer,
    TrainConfig,
    add_arguments,
    loss_terms,
    read_log,
    settings,
    train,
)

torch.set_num_threads(1)  # tiny networks: a second thread only waits on the first

TINY = TrainConfig(
    board=4,
    komi=0.5,
    blocks=1,
    channels=8,
    iterations=2,
    games_per_iteration=2,
    simulations=4,
    steps_per_iteration=3,
    batch_size=8,
    eval_games=2,
    jobs=2,
)


def run(config, run_dir):
    with ThreadPoolExecutor(1) as executor:
        return train(config, run_dir, executor, command="test", progress=False)


def test_gradient_steps_lower_the_loss_on_a_fixed_buffer():
    torch.manual_seed(0)
    from straw.nets import NetConfig, PolicyValueNet, evaluator

    net = PolicyValueNet(NetConfig(size=4, blocks=1, channels=8))
    buffer = ReplayBuffer.empty(1000, net.config)
    buffer.add(play_games(evaluator(net), SelfPlayConfig(size=4, simulations=4), 4, seed=0))
    rng = np.random.default_rng(0)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    fixed = buffer.sample(rng, 64)
    net.train()
    before = loss_terms(net, fixed, 1e-4)["loss"].item()
    for _ in range(40):
        terms = loss_terms(net, buffer.sample(rng, 32), 1e-4)
        optimizer.zero_grad()
        terms["loss"].backward()
        optimizer.step()
    assert loss_terms(net, fixed, 1e-4)["loss"].item() < before


def test_auxiliary_heads_learn_the_final_board_and_score():
    torch.manual_seed(0)
    from straw.nets import NetConfig, PolicyValueNet, evaluator

    net = PolicyValueNet(NetConfig(size=4, blocks=1, channels=8, auxiliary=True))
    buffer = ReplayBuffer.empty(1000, net.config)
    buffer.add(play_games(evaluator(net), SelfPlayConfig(size=4, simulations=4), 4, seed=0))
    rng = np.random.default_rng(0)
    fixed = buffer.sample(rng, 64)
    before = loss_terms(net, fixed, 1e-4)
    assert {"ownership_loss", "score_loss"} <= before.keys()
    assert before["loss"].item() == pytest.approx(
        sum(v.item() for k, v in before.items() if k != "loss")
    )
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    net.train()
    for _ in range(40):
        terms = loss_terms(net, buffer.sample(rng, 32), 1e-4)
        optimizer.zero_grad()
        terms["loss"].backward()
        optimizer.step()
    after = loss_terms(net, fixed, 1e-4)
    assert after["ownership_loss"] < before["ownership_loss"]
    assert after["score_loss"] < before["score_loss"]


def test_a_symmetry_turns_the_ownership_map_with_the_stones():
    from straw.nets import NetConfig, encode

    position = Position.from_diagram(
        """
        X X O .
        . X . .
        . . . .
        . . . .
        """
    )
    buffer = ReplayBuffer.empty(10, NetConfig(size=4))
    buffer.planes = encode([position]).astype(np.uint8)
    buffer.policies = np.full((1, 17), 1 / 17, np.float32)
    buffer.values = np.ones(1, np.float32)
    buffer.margins = np.ones(1, np.float32)
    # an ownership map that is the stones themselves (+1 own, -1 the opponent's), no symmetric
    buffer.ownership = (buffer.planes[:, 0] - buffer.planes[:, 1]).reshape(1, 16).astype(np.int8)
    turned = {}
    for seed in range(40):
        rows = buffer.sample(np.random.default_rng(seed), 1)
        planes, owners = rows["planes"][0], rows["ownership"][0]
        assert torch.equal(owners, planes[0] - planes[1])
        turned[planes.numpy().tobytes()] = True
    assert len(turned) == 8  # all eight symmetries were drawn


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path):
    run(TINY, tmp_path / "whole")
    run(replace(TINY, iterations=1), tmp_path / "halves")  # then the process "dies"
    # a run killed mid-iteration leaves a log line and a temporary file behind
    with open(tmp_path / "halves" / "log.jsonl", "a") as log:
        log.write(json.dumps({"iteration": 2, "loss": 99}) + "\n")
    (tmp_path / "halves" / "state.safetensors.tmp").write_bytes(b"half a file")
    run(TINY, tmp_path / "halves")
    whole, whole_meta = read_safetensors(tmp_path / "whole" / "state.safetensors")
    halves, halves_meta = read_safetensors(tmp_path / "halves" / "state.safetensors")
    assert whole.keys() == halves.keys()
    assert all(np.array_equal(whole[k], halves[k]) for k in whole)
    assert whole_meta["iteration"] == halves_meta["iteration"] == 2
    assert [r["loss"] for r in read_log(tmp_path / "halves")] == [
        r["loss"] for r in read_log(tmp_path / "whole")
    ]
    net, meta = load_network(tmp_path / "halves" / "nets" / "iter_0002.safetensors", size=4)
    assert meta["command"] == "test" and meta["train_config"]["board"] == 4


def test_a_run_directory_refuses_another_config(tmp_path):
    run(replace(TINY, iterations=1), tmp_path)
    with pytest.raises(ValueError, match="another config"):
        run(replace(TINY, channels=16), tmp_path)


def test_a_run_resumes_with_another_number_of_jobs(tmp_path):
    run(replace(TINY, iterations=1), tmp_path)
    run(replace(TINY, jobs=TINY.jobs + 1), tmp_path)
    _, meta = read_safetensors(tmp_path / "state.safetensors")
    assert meta["iteration"] == TINY.iterations
    assert meta["train_config"]["jobs"] == TINY.jobs + 1


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="games_per_iteration"):
        replace(TINY, games_per_iteration=0)
    with pytest.raises(ValueError, match="2 to 19"):
        replace(TINY, board=20)


def test_the_command_line_says_what_is_wrong(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--board", "5"])
    assert exit_info.value.code == 2 and "--run-dir" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="board sizes are 2 to 19"):
        main(["train", "--board", "30", "--run-dir", str(tmp_path)])
    with pytest.raises(SystemExit, match="must be positive"):
        main(["train", "--board", "5", "--run-dir", str(tmp_path), "--simulations", "0"])


def parsed(*argv: str):
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(["--run-dir", "runs/x", *argv])


def test_the_book_recipe_is_a_preset_that_options_override():
    plain = settings(parsed("--board", "7"))
    assert (
        plain["search"] == "puct" and not plain["auxiliary"]
    )  # without it: TrainConfig's defaults
    book = settings(parsed("--board", "7", "--recipe", "book"))
    assert {name: book[name] for name in RECIPES[7]} == RECIPES[7]
    assert book["search"] == "gumbel" and book["auxiliary"] and book["jobs"] == TrainConfig().jobs
    mine = settings(
        parsed("--board", "7", "--recipe", "book", "--simulations", "64", "--seed", "3")
    )
    assert mine == {**book, "simulations": 64, "seed": 3}
    # an option given with the default's value still overrides the recipe
    assert (
        settings(parsed("--board", "5", "--recipe", "book", "--score-weight", "0"))["score_weight"]
        == 0
    )
    TrainConfig(**book, board=7, komi=9.0)  # the recipe is a valid config
    TrainConfig(**settings(parsed("--board", "5", "--recipe", "book")), board=5, komi=0.0)
    with pytest.raises(SystemExit, match="recipe for 5x5 and 7x7, not 9x9"):
        settings(parsed("--board", "9", "--recipe", "book"))


def test_the_command_line_trains_on_a_dask_cluster_as_on_this_machine(tmp_path):
    from distributed import LocalCluster

    options = ["--board", "4", "--komi", "0.5", "--blocks", "1", "--channels", "8"]
    options += ["--iterations", "1", "--games-per-iteration", "2", "--simulations", "4"]
    options += ["--steps-per-iteration", "3", "--batch-size", "8", "--eval-games", "2"]
    options += ["--jobs", "2"]
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert (
            main(["train", *options, "--run-dir", str(tmp_path / "dask"), "--scheduler", address])
            == 0
        )
    with ThreadPoolExecutor(2) as here:
        train(replace(TINY, iterations=1), tmp_path / "here", here, progress=False)
    (remote,), (local,) = read_log(tmp_path / "dask"), read_log(tmp_path / "here")
    assert remote["loss"] == local["loss"] and remote["games"] == local["games"] == 2


@pytest.mark.skipif(sys.platform != "linux", reason="workers end with their parent on Linux")
def test_self_play_workers_end_when_the_training_process_is_killed(tmp_path):
    """A run killed with SIGKILL runs no clean-up; its worker processes must not play on."""
    command = [sys.executable, "-m", "straw", "train", "--board", "5", "--blocks", "1",
               "--channels", "8", "--iterations", "50", "--simulations", "64",
               "--jobs", "2", "--run-dir", str(tmp_path)]  # fmt: skip
    trainer = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    deadline = time.time() + 60
    while len(workers) < 2 and time.time() < deadline:
        time.sleep(0.2)
        workers = children(trainer.pid)
    assert len(workers) >= 2, "the run started no workers"
    trainer.kill()
    trainer.wait()
    deadline = time.time() + 10
    while any(alive(pid) for pid in workers) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers)


def children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines())
        except (OSError, ValueError):
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(status.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; only its exit status is left to collect


def test_a_log_without_evaluation_games_writes_null_not_nan(tmp_path):
    run(replace(TINY, iterations=1, eval_games=0), tmp_path)
    line = (tmp_path / "log.jsonl").read_text()
    assert "NaN" not in line and json.loads(line)["policy_vs_random"] is None
