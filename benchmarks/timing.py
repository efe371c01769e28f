"""What the benchmark scripts share: the best of several timed runs, and the header that says how
and where a script ran (run them from the repository root, `python benchmarks/NAME.py`, so this
folder is on the import path)."""

import os
import platform
import sys
import time


def best_of(repeats, fn, *args):
    """The shortest of `repeats` timed calls `fn(*args)`, in seconds, and the last call's result."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - start)
    return min(times), result


def command_and_machine() -> str:
    """Print the command this script was run with and the machine it runs on; return the command
    (scripts that write results store it beside them)."""
    command = " ".join(["python", *sys.argv])
    print("command:", command)
    print(f"machine: {platform.platform()}, {os.cpu_count()} cpus")
    return command
