"""The policy-value network: a residual tower with two heads (Silver et al. 2017, Methods).

    planes = encode(positions)          # (batch, PLANES, size, size) float32
    logits, values = net(planes)        # (batch, size*size + 1), (batch,) in [-1, 1]
    out = net.outputs(planes)           # the same, and with auxiliary heads ownership and score
    evaluate = evaluator(net)           # evaluate(positions) -> (priors, values), for the search

The network sees the board from the view of the player to move: plane 0 holds her stones, plane 1
her opponent's, plane 2 is all ones when Black is to move (komi makes the colours unequal), and
plane 3 is all ones when the opponent has just passed (so one more pass ends the game). Zero
padding lets the convolutions find the edge. Its policy head gives a logit for every point and
the pass; its value head the expected outcome for the player to move.

Auxiliary heads (`NetConfig(auxiliary=True)`, after KataGo, Wu 2019): an ownership head predicts,
for every point, who will own it when the game ends (+1 the player to move, -1 the opponent, by
Tromp-Taylor area), and a score head the final margin for the player to move as a fraction of the
board's area. The search does not use them; they are trained on what every finished game shows
about every point, many targets per position where the value head has one, so the tower learns
faster (KataGo's ablation: 1.65x more training without them).

A Go board has eight symmetries (the dihedral group: four rotations, each with or without a
reflection). The rules do not change under them, so every training position is worth eight, and
`symmetries` gives the eight versions of a batch of planes and of its policy targets (`symmetry`
one of them).

Networks know nothing of the search: `evaluator(net)` is the only bridge, a function of positions
that returns priors and values, which is what `straw.mcts.run_batched` asks for. It runs
`inference_copy(net)`, the same function with every batch norm folded into its convolution.

Files: `save_network` writes the weights as `.safetensors` (no pickle: loading a file runs no
code) with the network's configuration in its header, and a `.json` beside it for people;
`load_network` rebuilds the network from the file alone and says clearly what is wrong with a
file for another board size or a damaged one.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file
from torch import nn

from straw.go import Position

PLANES = 4  # own stones, opponent stones, Black to move, opponent just passed


@dataclass(frozen=True)
class NetConfig:
    """The shape of a network: board size, residual blocks, channels per convolution."""

    size: int = 5
    blocks: int = 4
    channels: int = 32
    value_hidden: int = 64
    auxiliary: bool = False  # ownership and score heads

    def __post_init__(self):
        if not 2 <= self.size <= 19:
            raise ValueError(f"board sizes are 2 to 19, not {self.size}")
        if self.blocks < 0 or self.channels < 1 or self.value_hidden < 1:
            raise ValueError(f"a network needs blocks >= 0 and positive widths, got {self}")


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a skip connection (He et al. 2016)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn1(self.conv1(x)).relu_()  # in place, as torchvision's ResNet: no new tensor
        out = self.bn2(self.conv2(y))
        out += x
        return out.relu_()


class PolicyValueNet(nn.Module):
    """The tower: one 3x3 convolution, `blocks` residual blocks, then the two heads."""

    def __init__(self, config: NetConfig):
        super().__init__()
        self.config = config
        c, area = config.channels, config.size * config.size
        self.stem = nn.Sequential(
            nn.Conv2d(PLANES, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)
        )
        self.tower = nn.Sequential(*[ResidualBlock(c) for _ in range(config.blocks)])
        # Policy head: 1x1 convolution to 2 planes, then a linear layer to every point and pass.
        self.policy_conv = nn.Sequential(
            nn.Conv2d(c, 2, 1, bias=False), nn.BatchNorm2d(2), nn.ReLU(inplace=True)
        )
        self.policy_fc = nn.Linear(2 * area, area + 1)
        # Value head: 1x1 convolution to 1 plane, a hidden layer, a tanh scalar.
        self.value_conv = nn.Sequential(
            nn.Conv2d(c, 1, 1, bias=False), nn.BatchNorm2d(1), nn.ReLU(inplace=True)
        )
        self.value_fc = nn.Sequential(
            nn.Linear(area, config.value_hidden),
            nn.ReLU(inplace=True),
            nn.Linear(config.value_hidden, 1),
        )

        if config.auxiliary:
            self.ownership_conv = nn.Conv2d(c, 1, 1)  # a logit per point: who owns it at the end
            self.score_fc = nn.Linear(config.value_hidden, 1)  # from the value head's hidden layer

    def forward(self, planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Policy logits (batch, area + 1) and values (batch,) for the player to move."""
        out = self.outputs(planes, auxiliary=False)  # what the search asks for, nothing more
        return out["policy"], out["value"]

    def outputs(self, planes: torch.Tensor, auxiliary: bool = True) -> dict[str, torch.Tensor]:
        """Every head: "policy" logits and "value" as `forward` gives them and, with auxiliary
        heads (unless `auxiliary` is False), "ownership_logits" (batch, n, n), whose tanh is the
        expected owner of each point (+1 the player to move), and "score" (batch,), the expected
        final margin for the player to move divided by the board's area."""
        x = self.tower(self.stem(planes))
        hidden = self.value_fc[:-1](self.value_conv(x).flatten(1))
        out = {
            "policy": self.policy_fc(self.policy_conv(x).flatten(1)),
            "value": torch.tanh(self.value_fc[-1](hidden)).squeeze(1),
        }
        if auxiliary and self.config.auxiliary:
            out["ownership_logits"] = self.ownership_conv(x).squeeze(1)
            out["score"] = self.score_fc(hidden).squeeze(1)
        return out


# ----------------------------------------------------------------------------------------------
# Input planes and the eight symmetries.


def encode(positions: Sequence[Position]) -> np.ndarray:
    """The input planes of a batch of positions of one board size, float32 (batch, PLANES, n, n)."""
    size = positions[0].size
    if any(p.size != size for p in positions):
        raise ValueError("a batch holds positions of one board size")
    boards = np.array([p.board for p in positions], dtype=np.int8).reshape(-1, size, size)
    to_play = np.array([p.to_play for p in positions], dtype=np.int8)[:, None, None]
    passed = np.array([p.passes == 1 for p in positions], dtype=np.float32)[:, None, None]
    planes = np.empty((len(positions), PLANES, size, size), dtype=np.float32)
    planes[:, 0] = boards == to_play
    planes[:, 1] = boards == -to_play
    planes[:, 2] = to_play == 1
    planes[:, 3] = passed
    return planes


def symmetry(planes: np.ndarray, policies: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Dihedral image `k` (0..7: k // 2 quarter turns, then a mirror if k is odd) of a batch:
    planes (batch, C, n, n) and policies over the n*n points plus the pass (batch, n*n + 1),
    transformed alike; the pass stays where it is."""
    batch, _, n, _ = planes.shape
    points, passes = policies[:, :-1].reshape(batch, n, n), policies[:, -1:]
    p = np.rot90(planes, k // 2, axes=(2, 3))
    q = np.rot90(points, k // 2, axes=(1, 2))
    if k % 2:
        p, q = p[..., ::-1], q[..., ::-1]
    flat = np.concatenate([q.reshape(batch, n * n), passes], axis=1)
    return np.ascontiguousarray(p), np.ascontiguousarray(flat)


def symmetries(planes: np.ndarray, policies: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The eight dihedral images of a batch (`symmetry` k = 0..7), the identity first."""
    return [symmetry(planes, policies, k) for k in range(8)]


# ----------------------------------------------------------------------------------------------
# The bridge to the search.


def inference_copy(net: PolicyValueNet) -> PolicyValueNet:
    """A copy of `net` for the search: every batch norm folded into the convolution before it
    (in inference a batch norm is an affine map per channel, gamma * (z - mean) / sqrt(var + eps)
    + beta, so conv-then-norm is one convolution with rescaled weights and a bias), its weights in
    channels-last order. The same function to float rounding, with fewer passes over memory
    (`benchmarks/selfplay_speed.py` times both)."""
    copy = PolicyValueNet(net.config)
    copy.load_state_dict(net.state_dict())
    copy.eval()

    def fold(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> nn.Conv2d:
        return torch.nn.utils.fusion.fuse_conv_bn_eval(conv, norm)

    for head in (copy.stem, copy.policy_conv, copy.value_conv):  # conv, norm, relu
        head[0], head[1] = fold(head[0], head[1]), nn.Identity()
    for block in copy.tower:
        block.conv1, block.bn1 = fold(block.conv1, block.bn1), nn.Identity()
        block.conv2, block.bn2 = fold(block.conv2, block.bn2), nn.Identity()
    return copy.to(memory_format=torch.channels_last)


def set_malloc_thresholds(mmap_threshold: int, trim_threshold: int) -> bool:
    """Set glibc malloc's two thresholds, in bytes: a block of at least `mmap_threshold` is mapped
    from the system and unmapped when freed, and free memory beyond `trim_threshold` at the top
    of the heap is given back. glibc starts both at 128 KiB and raises them as it sees large
    blocks freed; setting them stops that. Returns whether the malloc is glibc's (elsewhere,
    macOS or musl, nothing is set)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    m_trim_threshold, m_mmap_threshold = -1, -3  # malloc.h
    libc.mallopt(m_mmap_threshold, mmap_threshold)
    libc.mallopt(m_trim_threshold, trim_threshold)
    return True


@cache
def keep_freed_memory() -> None:
    """Ask glibc's malloc to keep the memory PyTorch frees, for the next tensor. Every tensor of
    a network's forward pass is a fresh malloc, and by default glibc can give large freed blocks
    back to the system (it unmaps those over its threshold, and trims the top of its heap), so
    the next call faults its activations into memory again, page by page: a quarter of a 7x7
    network's call at batch 64 where `benchmarks/selfplay_speed.py` once ran. How often depends
    on where the blocks fall in the heap. PyTorch's tuning guide answers with another
    allocator (jemalloc, tcmalloc); two settings of glibc's own do the same here: blocks under
    32 MiB come from the heap, which keeps up to 256 MiB freed."""
    set_malloc_thresholds(32 * 2**20, 256 * 2**20)


def evaluator(net: PolicyValueNet):
    """`evaluate(positions) -> (priors, values)`: priors are the softmax of the policy logits over
    all actions (the search masks illegal ones), values are for the player to move. It runs
    `inference_copy(net)`, made again whenever `net`'s weights have changed since (training
    steps and loads change every tensor's version counter), so it always evaluates `net` as it
    is now."""

    keep_freed_memory()
    size = net.config.size
    tensors = (*net.parameters(), *net.buffers())  # listed once: walking the modules is slow
    made: dict = {}  # the copy, and the version of every tensor of `net` it was made from

    def versions() -> tuple[int, ...]:
        return tuple(t._version for t in tensors)

    def evaluate(positions):
        if positions[0].size != size:
            raise ValueError(f"this network plays {size}x{size} Go, not {positions[0].size}x")
        if made.get("versions") != versions():
            made["net"], made["versions"] = inference_copy(net), versions()
        planes = torch.from_numpy(encode(positions)).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            logits, values = made["net"](planes)
            priors = torch.softmax(logits, dim=1)
        return priors.numpy(), values.numpy().astype(float)

    return evaluate


def predicted_ownership(net: PolicyValueNet, position: Position) -> tuple[float, ...]:
    """What the ownership head expects at `position`: for every point, the expected owner at the
    end of the game, from -1 (White's) to +1 (Black's), as `Position.ownership` counts it."""
    if not net.config.auxiliary:
        raise ValueError("this network has no ownership head (NetConfig.auxiliary is False)")
    net.eval()
    with torch.inference_mode():
        logits = net.outputs(torch.from_numpy(encode([position])))["ownership_logits"]
    return tuple((torch.tanh(logits[0]).flatten() * position.to_play).tolist())


# ----------------------------------------------------------------------------------------------
# Files.


def save_network(net: PolicyValueNet, path: str | Path, **info) -> None:
    """Write the weights to `path` (.safetensors) with the config and `info` in its header, and
    the same metadata to the .json beside it (both atomically)."""
    path = Path(path)
    meta = {"format": "straw.nets/1", "net_config": asdict(net.config), **info}
    write_safetensors(path, state_arrays(net), meta)
    json_path = path.with_suffix(".json")
    json_path.with_name(json_path.name + ".tmp").write_text(json.dumps(meta, indent=2) + "\n")
    json_path.with_name(json_path.name + ".tmp").replace(json_path)


def state_arrays(module: nn.Module, prefix: str = "") -> dict[str, np.ndarray]:
    """A module's state (weights and batch-norm statistics) as numpy arrays, names prefixed."""
    return {prefix + name: t.detach().cpu().numpy() for name, t in module.state_dict().items()}


def write_safetensors(path: str | Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write `arrays` and `meta` (JSON, under the header key "straw") to `path` atomically: to a
    temporary name first, then renamed, so a killed process never leaves half a file."""
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    arrays = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
    save_file(arrays, str(temporary), metadata={"straw": json.dumps(meta)})
    temporary.replace(path)


def load_network(path: str | Path, size: int | None = None) -> tuple[PolicyValueNet, dict]:
    """The network saved at `path`, and its metadata. With `size`, refuse a network made for
    another board size. Raises ValueError, saying what is wrong, for a file that is not one."""
    tensors, meta = read_safetensors(path)
    if meta.get("format") != "straw.nets/1":
        raise ValueError(f"{path} is not a straw network (no straw.nets/1 header)")
    config = NetConfig(**meta["net_config"])
    if size is not None and config.size != size:
        raise ValueError(
            f"{path} is a network for {config.size}x{config.size} Go, not {size}x{size}"
        )
    net = PolicyValueNet(config)
    try:
        load_arrays(net, tensors)
    except RuntimeError as error:
        raise ValueError(f"{path}: the weights do not fit its network config: {error}") from None
    net.eval()
    return net, meta


def load_arrays(module: nn.Module, arrays: dict[str, np.ndarray], prefix: str = "") -> None:
    """Load `state_arrays(module, prefix)` back into `module` (every name must match)."""
    state = {k[len(prefix) :]: torch.from_numpy(a.copy()) for k, a in arrays.items()}
    module.load_state_dict(state)


def read_safetensors(path: str | Path, prefix: str = "") -> tuple[dict[str, np.ndarray], dict]:
    """Every tensor in a .safetensors file whose name starts with `prefix` (as numpy arrays), and
    the straw metadata of its header; a clear ValueError for a missing, damaged or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no checkpoint at {path}")
    try:
        with safe_open(str(path), framework="numpy") as f:
            header = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys() if k.startswith(prefix)}
    except (SafetensorError, OSError, ValueError) as error:
        raise ValueError(f"{path} is damaged or not a .safetensors file ({error})") from None
    if "straw" not in header:
        raise ValueError(f"{path} is a .safetensors file without straw metadata")
    try:
        meta = json.loads(header["straw"])
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} has a damaged straw header ({error})") from None
    return tensors, meta
