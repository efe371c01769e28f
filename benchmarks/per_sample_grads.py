"""Per-sample policy gradients of the tiny transformer: torch.func (vmap of grad) against a
Python loop of one backward pass per answer.

Target: the vectorised version at least 10x faster than the loop, for a batch of answers to a
combination lock with the model of chapters 11 and 12 (2 layers, width 32) by default.

    python benchmarks/per_sample_grads.py --vocab 16 --length 8 --batch 256
"""

import argparse
import os
import platform
import shlex
import sys

import numpy as np
import torch
from timing import best_of

from straw import policy_gradients, transformer
from straw.tokens import CombinationLock

TARGET_SPEEDUP = 10.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, default=16, help="vocabulary size V")
    parser.add_argument("--length", type=int, default=8, help="answer length T")
    parser.add_argument("--batch", type=int, default=256, help="answers per batch")
    parser.add_argument("--layers", type=int, default=2, help="transformer blocks")
    parser.add_argument("--width", type=int, default=32, help="n_embd")
    # One thread by default: the comparison is of vectorization, not of threading.
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each; the best counts")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    task = CombinationLock(args.vocab, args.length)
    model = transformer.TinyLM(
        transformer.LMConfig.for_task(task, n_layer=args.layers, n_embd=args.width)
    )
    rng = np.random.default_rng(0)
    batch = policy_gradients.sample_batch(
        model, task, 1, args.batch, rng, torch.Generator().manual_seed(0)
    )
    weights = rng.standard_normal((args.batch, args.length))  # any c_t: cost does not depend on it

    print(f"machine: {platform.platform()}, {os.cpu_count()} processors")
    print(f"python {platform.python_version()}, torch {torch.__version__}, {args.threads} threads")
    command = " ".join(["python benchmarks/per_sample_grads.py", shlex.join(sys.argv[1:])])
    print(f"command: {command.strip()}")
    print(
        f"V = {args.vocab}, T = {args.length}, {args.batch} answers, {args.layers} layers x "
        f"width {args.width} ({model.num_parameters()} parameters), best of {args.repeats} runs"
    )

    args_ = (model, batch.prompts, batch.answers, weights)
    loop_s, loop = best_of(args.repeats, policy_gradients.per_sample_gradients_loop, *args_)
    vmap_s, vectorised = best_of(args.repeats, policy_gradients.per_sample_gradients, *args_)
    error = float((loop - vectorised).abs().max())
    per_answer = 1e3 / args.batch
    print(f"  loop of backward passes    {loop_s:8.3f} s  ({loop_s * per_answer:6.2f} ms / answer)")
    print(f"  torch.func vmap(grad)      {vmap_s:8.3f} s  ({vmap_s * per_answer:6.2f} ms / answer)")
    print(f"  largest difference {error:.2e}")
    speedup = loop_s / vmap_s
    met = "met" if speedup >= TARGET_SPEEDUP and error < 1e-4 else "NOT met"
    print(f"target (vectorised at least {TARGET_SPEEDUP:g}x faster): {met}, {speedup:.1f}x")


if __name__ == "__main__":
    main()
