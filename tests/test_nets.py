"""The policy-value network: input planes drawn as boards, the eight symmetries, files."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from straw.go import BLACK, WHITE, Position, parse_point
from straw.nets import (
    NetConfig,
    PolicyValueNet,
    encode,
    evaluator,
    load_network,
    predicted_ownership,
    read_safetensors,
    save_network,
    symmetries,
    write_safetensors,
)

torch.set_num_threads(1)  # tiny networks: a second thread only waits on the first


@pytest.fixture
def net():
    torch.manual_seed(0)
    return PolicyValueNet(NetConfig(size=5, blocks=1, channels=8)).eval()


def test_planes_are_from_the_view_of_the_player_to_move():
    diagram = """
        X . . . .
        . O . . .
        . . . . .
        . . . . .
        . . . . .
    """
    black = Position.from_diagram(diagram, to_play=BLACK, komi=0)
    white = Position.from_diagram(diagram, to_play=WHITE, komi=0)
    planes = encode([black, white])
    a1, b2 = parse_point("A5", 5), parse_point("B4", 5)
    assert planes.shape == (2, 4, 5, 5)
    assert planes[0, 0].flat[a1] == 1 and planes[0, 1].flat[b2] == 1  # Black's own, White's
    assert planes[1, 0].flat[b2] == 1 and planes[1, 1].flat[a1] == 1  # swapped for White
    assert planes[0, 0].sum() == planes[0, 1].sum() == 1
    assert planes[0, 2].all() and not planes[1, 2].any()  # Black to move
    assert not planes[:, 3].any()  # nobody has passed
    after_pass = black.play(black.pass_action)
    assert encode([after_pass])[0, 3].all()


def test_encode_refuses_mixed_board_sizes():
    with pytest.raises(ValueError, match="one board size"):
        encode([Position(5), Position(7)])


def test_eight_symmetries_move_stones_and_policies_together():
    position = Position.from_diagram(
        """
        X X . . .
        . . . . .
        . . . . .
        . . . . .
        . . . . .
        """
    )
    planes = encode([position])
    policy = np.zeros((1, 26), np.float32)
    policy[0, 0], policy[0, 1], policy[0, 25] = 0.5, 0.3, 0.2  # A5, B5 and the pass
    images = symmetries(planes, policy)
    assert len(images) == 8
    assert np.array_equal(images[0][0], planes) and np.array_equal(images[0][1], policy)
    distinct = {image[0].tobytes() for image in images}
    assert len(distinct) == 8  # two stones in a corner: no symmetry maps the board to itself
    for turned, target in images:
        stones = turned[0, 0].reshape(-1)
        assert stones[target[0, :25] == 0.5] == 1  # the A5 stone and its probability moved alike
        assert stones[target[0, :25] == 0.3] == 1
        assert target[0, 25] == pytest.approx(0.2)  # the pass stays the pass


def test_evaluator_gives_a_distribution_and_values_in_range(net):
    positions = [Position(5, 0), Position(5, 0).play(12)]
    priors, values = evaluator(net)(positions)
    assert priors.shape == (2, 26) and values.shape == (2,)
    assert np.allclose(priors.sum(axis=1), 1, atol=1e-5)
    assert np.all(np.abs(values) <= 1)


def test_the_evaluator_runs_the_network_folded_and_follows_its_training(net):
    """The search's copy, batch norm folded into the convolutions, computes what the network
    does up to rounding; a training step changes the network, and the evaluator follows."""
    positions = [Position(5, 0), Position(5, 0).play(12).play(7)]
    planes = torch.from_numpy(encode(positions))
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():  # batch norms that are not the identity
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                for t in (module.weight, module.bias, module.running_mean):
                    t.copy_(torch.randn(t.shape, generator=generator))
                module.running_var.copy_(torch.rand(module.running_var.shape) + 0.5)
    evaluate = evaluator(net)

    def agree():
        priors, values = evaluate(positions)
        with torch.no_grad():
            logits, expected = net(planes)
        assert np.allclose(priors, torch.softmax(logits, 1).numpy(), atol=1e-5)
        assert np.allclose(values, expected.numpy(), atol=1e-5)
        return priors

    before = agree()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    net.train()
    net(planes)[0].logsumexp(1).sum().backward()
    optimizer.step()
    net.eval()
    assert not np.allclose(agree(), before, atol=1e-3)


def test_a_saved_network_loads_with_the_same_outputs(net, tmp_path):
    path = tmp_path / "net.safetensors"
    save_network(net, path, step=7)
    loaded, meta = load_network(path, size=5)
    assert meta["step"] == 7 and meta["net_config"]["channels"] == 8
    assert json.loads((tmp_path / "net.json").read_text()) == meta
    planes = torch.from_numpy(encode([Position(5, 0).play(3)]))
    with torch.inference_mode():
        for mine, theirs in zip(net(planes), loaded(planes), strict=True):
            assert torch.equal(mine, theirs)


def test_a_network_for_another_board_is_refused(net, tmp_path):
    path = tmp_path / "net.safetensors"
    save_network(net, path)
    with pytest.raises(ValueError, match="5x5 Go, not 7x7"):
        load_network(path, size=7)


def test_damaged_and_foreign_files_are_refused_clearly(net, tmp_path):
    path = tmp_path / "net.safetensors"
    save_network(net, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="damaged or not a .safetensors file"):
        load_network(path)
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="damaged or not a .safetensors file"):
        load_network(path)
    with pytest.raises(ValueError, match="no checkpoint"):
        load_network(tmp_path / "missing.safetensors")
    write_safetensors(path, {"x": np.zeros(3, np.float32)}, {"format": "something else"})
    with pytest.raises(ValueError, match="not a straw network"):
        load_network(path)


def test_weights_that_do_not_fit_the_config_are_refused(net, tmp_path):
    path = tmp_path / "net.safetensors"
    save_network(net, path)
    meta = json.loads((tmp_path / "net.json").read_text())
    meta["net_config"]["channels"] = 16
    arrays, _ = read_safetensors(path)
    write_safetensors(path, arrays, meta)
    with pytest.raises(ValueError, match="do not fit its network config"):
        load_network(path)


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="2 to 19"):
        NetConfig(size=1)
    with pytest.raises(ValueError, match="positive widths"):
        NetConfig(channels=0)


def test_the_evaluator_refuses_another_board_size(net):
    with pytest.raises(ValueError, match="plays 5x5 Go, not 7x"):
        evaluator(net)([Position(7)])


def test_gtp_plays_with_a_checkpoint_and_refuses_one_for_another_board(net, tmp_path):
    path = tmp_path / "net.safetensors"
    save_network(net, path)
    command = [sys.executable, "-m", "straw", "gtp", "--simulations", "8", "--checkpoint", path]
    played = subprocess.run(
        [*command, "--size", "5", "--komi", "0"],
        input="genmove b\nquit\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert played.returncode == 0
    reply = played.stdout.split("\n")[0]
    assert reply.startswith("= ") and parse_point(reply[2:], 5) in range(26)
    refused = subprocess.run(
        [*command, "--size", "7"], input="", capture_output=True, text=True, timeout=120
    )
    assert refused.returncode == 1 and "a network for 5x5 Go, not 7x7" in refused.stderr


def test_the_search_gets_two_heads_and_training_all_four():
    torch.manual_seed(0)
    net = PolicyValueNet(NetConfig(size=5, blocks=1, channels=8, auxiliary=True)).eval()
    planes = torch.from_numpy(encode([Position(5), Position(5).play(12)]))
    with torch.inference_mode():
        logits, values = net(planes)
        every = net.outputs(planes)
        searched = net.outputs(planes, auxiliary=False)
    assert set(every) == {"policy", "value", "ownership_logits", "score"}
    assert set(searched) == {"policy", "value"}
    assert torch.equal(logits, every["policy"]) and torch.equal(values, every["value"])
    assert every["ownership_logits"].shape == (2, 5, 5) and every["score"].shape == (2,)


def test_predicted_ownership_is_from_blacks_view_whoever_is_to_move():
    torch.manual_seed(0)
    net = PolicyValueNet(NetConfig(size=5, blocks=1, channels=8, auxiliary=True))
    black_to_move = Position(5).play(12).play(6)
    owners = predicted_ownership(net, black_to_move)
    with torch.inference_mode():
        logits = net.outputs(torch.from_numpy(encode([black_to_move])))["ownership_logits"]
    assert len(owners) == 25 and all(-1 < o < 1 for o in owners)
    assert np.allclose(owners, torch.tanh(logits).flatten().numpy(), atol=1e-6)
    white_to_move = black_to_move.play(18)
    with torch.inference_mode():
        logits = net.outputs(torch.from_numpy(encode([white_to_move])))["ownership_logits"]
    assert np.allclose(predicted_ownership(net, white_to_move), -torch.tanh(logits).flatten())
    with pytest.raises(ValueError, match="no ownership head"):
        predicted_ownership(PolicyValueNet(NetConfig(size=5, blocks=1, channels=8)), white_to_move)
