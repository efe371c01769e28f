"""A tiny causal transformer, written from scratch in the manner of nanoGPT.

The model reads a prompt, a start token and the answer so far, and gives the logits of the next
answer token over a vocabulary of V (the tokens of a `straw.tokens` task):

    input     x_1 .. x_P  BOS  y_1 .. y_{T-1}        (BOS is token id V)
    predicts              y_1  y_2 .. y_T

so one forward pass gives log pi(y_t | x, y_<t) for every t: the exact log-probability of a
whole answer is their sum (`token_log_probs`). Nothing is approximated: the policy-gradient
estimators of `straw.policy_gradients` differentiate these numbers.

A config dataclass, then one class per concept (attention, MLP, block, model) as in nanoGPT's
`model.py` (Karpathy 2022) and the transformer of Vaswani et al. (2017) with pre-layer-norm
blocks (Radford et al. 2019). Attention is written out (a masked softmax), not fused, so that
`torch.func.vmap` can take per-sample gradients through it. Below the model: sampling with
temperature, next-token probabilities for a search, and supervised pre-training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from straw.tokens import MAX_VOCAB, Task, check_tokens

MAX_WIDTH = 128  # the book's models are tiny on purpose: a 2-core CPU trains them in seconds


@dataclass(frozen=True)
class LMConfig:
    vocab: int  # V answer tokens; the input vocabulary adds BOS = V
    context: int  # positions the model sees: prompt length + answer length
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64  # the width
    value_head: bool = False  # also predict a scalar per position (`TinyLM.value`)
    seed: int = 0  # initial weights

    def __post_init__(self):
        if not 2 <= self.vocab <= MAX_VOCAB:
            raise ValueError(f"vocab must be between 2 and {MAX_VOCAB}; got {self.vocab}")
        if not 1 <= self.n_embd <= MAX_WIDTH:
            raise ValueError(f"n_embd (the width) must be at most {MAX_WIDTH}; got {self.n_embd}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd {self.n_embd} must be a multiple of n_head {self.n_head}")
        if self.context < 1:
            raise ValueError(f"context must be at least 1; got {self.context}")

    @classmethod
    def for_task(cls, task: Task, **kwargs) -> LMConfig:
        """A config whose vocabulary and context fit `task`."""
        return cls(vocab=task.vocab, context=task.prompt_length + task.length, **kwargs)


class CausalSelfAttention(nn.Module):
    """softmax(Q K^T / sqrt(d) + causal mask) V, with n_head heads (Vaswani et al. 2017, eq. 1)."""

    def __init__(self, config: LMConfig):
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.proj = nn.Linear(config.n_embd, config.n_embd)
        mask = torch.tril(torch.ones(config.context, config.context, dtype=torch.bool))
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, L, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        # (B, L, C) -> (B, heads, L, head size)
        q, k, v = (z.view(B, L, self.n_head, C // self.n_head).transpose(1, 2) for z in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(k.shape[-1])
        scores = scores.masked_fill(~self.mask[:L, :L], float("-inf"))
        y = F.softmax(scores, dim=-1) @ v
        return self.proj(y.transpose(1, 2).reshape(B, L, C))


class MLP(nn.Module):
    def __init__(self, config: LMConfig):
        super().__init__()
        self.up = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.down = nn.Linear(4 * config.n_embd, config.n_embd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.gelu(self.up(x)))


class Block(nn.Module):
    """x + attention(norm(x)), then x + mlp(norm(x)): a pre-norm transformer block."""

    def __init__(self, config: LMConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class TinyLM(nn.Module):
    """Token and position embeddings, `n_layer` blocks, a final norm and a linear head to V."""

    def __init__(self, config: LMConfig):
        super().__init__()
        self.config = config
        generator = torch.Generator().manual_seed(config.seed)
        self.token_embedding = nn.Embedding(config.vocab + 1, config.n_embd)  # + BOS
        self.position_embedding = nn.Embedding(config.context, config.n_embd)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.head = nn.Linear(config.n_embd, config.vocab)
        self.value_head = nn.Linear(config.n_embd, 1) if config.value_head else None
        # nanoGPT's initialisation: N(0, 0.02) weights, zero biases, from our own seed.
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.dim() >= 2:
                with torch.no_grad():
                    p.copy_(0.02 * torch.randn(p.shape, generator=generator))

    @property
    def bos(self) -> int:
        return self.config.vocab

    def features(self, idx: torch.Tensor) -> torch.Tensor:
        """The final hidden state at every position, shape (B, L, n_embd)."""
        L = idx.shape[-1]
        if L > self.config.context:
            raise ValueError(f"input of {L} tokens exceeds the context {self.config.context}")
        x = self.token_embedding(idx) + self.position_embedding(torch.arange(L, device=idx.device))
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Next-token logits at every position, shape (B, L, V)."""
        return self.head(self.features(idx))

    def value(self, idx: torch.Tensor) -> torch.Tensor:
        """The value head's scalar at every position, shape (B, L) (config.value_head only)."""
        if self.value_head is None:
            raise ValueError("this model has no value head: build it with value_head=True")
        return self.value_head(self.features(idx))[..., 0]

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


# ----------------------------------------------------------------------------------------------
# Log-probabilities and sampling.


def model_inputs(model: TinyLM, prompts, answers) -> torch.Tensor:
    """[prompt, BOS, y_1 .. y_{T-1}] for every row, shape (n, P + T), as a LongTensor.

    Token ids are checked: anything outside 0 .. V-1 raises ValueError.
    """
    prompts, answers = as_tokens(model, prompts, "prompts"), as_tokens(model, answers, "answers")
    if len(prompts) != len(answers):
        raise ValueError(f"{len(prompts)} prompts for {len(answers)} answers")
    bos = torch.full((len(answers), 1), model.bos, dtype=torch.long, device=answers.device)
    return torch.cat([prompts, bos, answers[:, :-1]], dim=1)


def next_token_log_probs(model: TinyLM, prompts, answers, temperature: float = 1.0):
    """log pi(. | x, y_<t) over the whole vocabulary at every step t, shape (n, T, V)."""
    P = as_tokens(model, prompts, "prompts").shape[1]
    logits = model(model_inputs(model, prompts, answers))[:, P:] / temperature
    return torch.log_softmax(logits, dim=-1)


def token_log_probs(model: TinyLM, prompts, answers, temperature: float = 1.0) -> torch.Tensor:
    """log pi(y_t | x, y_<t) for every token of every answer, shape (n, T); differentiable.

    Their sum over t is the exact log-probability of the answer under the policy.
    """
    answers = as_tokens(model, answers, "answers")
    log_probs = next_token_log_probs(model, prompts, answers, temperature)
    return log_probs.gather(-1, answers[..., None])[..., 0]


@torch.no_grad()
def sample(
    model: TinyLM,
    prompts,
    length: int,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Write `length` tokens after each prompt, shape (n, length), a LongTensor.

    Token t is drawn from softmax(logits / temperature); temperature 0 takes the argmax.
    The model is run once per token on the whole prefix (no key-value cache: T is small).
    """
    if temperature < 0:
        raise ValueError(f"temperature must be nonnegative; got {temperature}")
    prompts = as_tokens(model, prompts, "prompts")
    bos = torch.full((len(prompts), 1), model.bos, dtype=torch.long, device=prompts.device)
    idx = torch.cat([prompts, bos], dim=1)
    for _ in range(length):
        logits = model(idx)[:, -1]
        if temperature == 0:
            token = logits.argmax(dim=-1, keepdim=True)
        else:
            probs = torch.softmax(logits / temperature, dim=-1)
            token = torch.multinomial(probs, 1, generator=generator)
        idx = torch.cat([idx, token], dim=1)
    return idx[:, prompts.shape[1] + 1 :]


@torch.no_grad()
def next_token_probs(model: TinyLM, prompts, prefixes, temperature: float = 1.0) -> np.ndarray:
    """pi(. | x, prefix) for a batch of prompts and prefixes of any lengths, shape (n, V).

    What a search asks of the model at a leaf. Prefixes are padded on the right: attention is
    causal, so padding after a position never changes the logits at it.
    """
    prompts = as_tokens(model, prompts, "prompts")
    if len(prefixes) != len(prompts):
        raise ValueError(f"{len(prompts)} prompts for {len(prefixes)} prefixes")
    longest = max(len(prefix) for prefix in prefixes)
    padded = np.full((len(prefixes), longest + 1), model.bos, dtype=np.int64)
    for i, prefix in enumerate(prefixes):
        check_tokens(np.asarray(prefix, dtype=np.int64), model.config.vocab, "prefix")
        padded[i, 1 : len(prefix) + 1] = prefix
    idx = torch.cat([prompts, torch.as_tensor(padded, device=prompts.device)], dim=1)
    where = torch.tensor([len(p) for p in prefixes], device=prompts.device) + prompts.shape[1]
    logits = model(idx)[torch.arange(len(prefixes)), where] / max(temperature, 1e-8)
    return torch.softmax(logits.double(), dim=-1).cpu().numpy()


# ----------------------------------------------------------------------------------------------
# Supervised pre-training.


def pretrain(
    model: TinyLM,
    task: Task,
    steps: int,
    corruption: float = 0.0,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
) -> list[float]:
    """Teach the model the task's demonstrations by maximum likelihood; returns the losses.

    Each step draws `batch_size` prompts and their demonstrations, replaces every token with a
    uniformly random one with probability `corruption`, and takes one AdamW step on the mean
    negative log-likelihood. A noisy demonstrator is the knob that sets where RL starts: a model
    fit to it writes the right token with probability about (1 - c) + c / V at each step, so
    its success rate on an outcome reward is small but not zero, as AlphaGo's supervised
    network was before self-play.
    """
    if not 0 <= corruption <= 1:
        raise ValueError(f"corruption must be a probability; got {corruption}")
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    losses = []
    for _ in range(steps):
        prompts = task.sample_prompts(batch_size, rng)
        answers = task.demonstrations(prompts, rng)
        noisy = rng.random(answers.shape) < corruption
        answers = np.where(noisy, rng.integers(task.vocab, size=answers.shape), answers)
        loss = -token_log_probs(model, prompts, answers).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def as_tokens(model: TinyLM, tokens, name: str) -> torch.Tensor:
    """A (n, k) LongTensor on the model's device, every id checked against the vocabulary."""
    device = next(model.parameters()).device
    if isinstance(tokens, torch.Tensor):
        array = tokens.detach().cpu().numpy()
    else:
        array = np.asarray(tokens)
        if array.size == 0:
            array = array.astype(np.int64)
    if array.ndim != 2:
        raise ValueError(f"{name} must have shape (n, length); got shape {array.shape}")
    check_tokens(array, model.config.vocab, name)
    return torch.as_tensor(array, dtype=torch.long, device=device)
