"""How long exact enumeration takes: `enumerate_sequences` + `exact_moments` for both estimators.

Target: V^T = 10^5 sequences (the default, V = 10, T = 5) in under 5 s per policy.

    python benchmarks/enumeration_speed.py --vocab 10 --length 5
"""

import argparse
import os
import platform
import shlex
import sys

import numpy as np
from timing import best_of

from straw import estimators as est

TARGET_SEQUENCES = 10**5
TARGET_SECONDS = 5.0


def exact_single_and_multi_step(policy, reward_table):
    """Enumerate every sequence, then the exact moments of single-step and multi-step."""
    enum = est.enumerate_sequences(policy)
    rewards = reward_table[np.arange(policy.length), enum.sequences]  # r_t = table[t, y_t]
    single = est.exact_moments(enum, est.single_step_weights(rewards))
    multi = est.exact_moments(enum, est.multi_step_weights(rewards))
    return len(enum.prob), single.trace, multi.trace


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, default=10, help="vocabulary size V")
    parser.add_argument("--length", type=int, default=5, help="sequence length T")
    parser.add_argument("--seed", type=int, default=0, help="seed of the logits and rewards")
    parser.add_argument("--repeats", type=int, default=3, help="runs per policy; the best counts")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    reward_table = rng.standard_normal((args.length, args.vocab))
    policies = [
        est.prefix_tree(args.vocab, args.length, seed=args.seed),
        est.bigram(args.vocab, args.length, seed=args.seed),
    ]

    print(f"machine: {platform.platform()}, {os.cpu_count()} processors")
    print(f"python {platform.python_version()}, numpy {np.__version__}")
    command = " ".join(["python benchmarks/enumeration_speed.py", shlex.join(sys.argv[1:])])
    print(f"command: {command.strip()}")
    print(
        f"vocab V = {args.vocab}, length T = {args.length}, seed {args.seed}, "
        f"best of {args.repeats} runs (time.perf_counter)"
    )

    seconds = {}
    for policy in policies:
        elapsed, (count, single_trace, multi_trace) = best_of(
            args.repeats, exact_single_and_multi_step, policy, reward_table
        )
        seconds[policy.name] = elapsed
        print(
            f"  {policy.name:20s} {count:>9d} sequences  {elapsed:7.3f} s  "
            f"(trace single-step {single_trace:.4g}, multi-step {multi_trace:.4g})"
        )

    count = args.vocab**args.length
    slowest = max(seconds.values())
    if count < TARGET_SEQUENCES:
        verdict = f"not measured: only {count} sequences, the target is about {TARGET_SEQUENCES}"
    else:
        met = "met" if slowest < TARGET_SECONDS else "NOT met"
        verdict = f"{met}: slowest policy {slowest:.3f} s for {count} sequences"
    print(f"target ({TARGET_SEQUENCES} sequences in under {TARGET_SECONDS:g} s): {verdict}")


if __name__ == "__main__":
    main()
