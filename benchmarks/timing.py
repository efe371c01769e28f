"""What the benchmark scripts share: the best of several timed runs (run them from the repository
root, `python benchmarks/NAME.py`, so this folder is on the import path)."""

import time


def best_of(repeats, fn, *args):
    """The shortest of `repeats` timed calls `fn(*args)`, in seconds, and the last call's result."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - start)
    return min(times), result
