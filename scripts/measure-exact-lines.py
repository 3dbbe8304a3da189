#!/usr/bin/env python3
"""Measures the overhead of GPU Lens --exact-lines on a small CPU model loop (run with a python that
has torch, e.g. /usr/bin/python3 on Debian). Prints ms per iteration for: no profiler, profiler
alone, profiler + exact-line mode; the mode comes from python/gpu_lens_torch_launcher.py.

    /usr/bin/python3 scripts/measure-exact-lines.py [--iters 200] [--width 64]
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import gpu_lens_torch_launcher as launcher  # noqa: E402


def step(model, x):
    h = model(x)  # a few torch calls per iteration, from a workspace file (this one)
    h = torch.relu(h) + 1
    return h.sum()


def run(model, x, iters):
    t = time.perf_counter()
    for _ in range(iters):
        step(model, x)
    return (time.perf_counter() - t) / iters * 1000


def count_calls(model, x):
    """Torch function calls one iteration makes (what the exact-line mode wraps)."""
    from torch.overrides import TorchFunctionMode

    seen = []

    class Count(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            seen.append(func)
            return func(*args, **(kwargs or {}))

    with Count():
        step(model, x)
    return len(seen)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--iters", type=int, default=200)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(1)
    model = torch.nn.Sequential(*[torch.nn.Linear(a.width, a.width) for _ in range(4)])
    x = torch.randn(8, a.width)
    workspace = os.path.dirname(os.path.abspath(__file__))
    results = {"no profiler": [], "profiler": [], "profiler + exact lines": []}
    for _ in range(a.repeats):
        results["no profiler"].append(run(model, x, a.iters))
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]):
            results["profiler"].append(run(model, x, a.iters))
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]):
            with launcher.make_exact_line_mode(torch, workspace):
                results["profiler + exact lines"].append(run(model, x, a.iters))
    base = min(results["profiler"])
    print("torch %s, %d iterations x %d repeats, width %d (best of repeats, ms/iteration):"
          % (torch.__version__, a.iters, a.repeats, a.width))
    for k, v in results.items():
        print("  %-24s %.3f ms  (%+.0f%% vs profiler alone)" % (k, min(v), (min(v) / base - 1) * 100))
    calls = count_calls(model, x)
    extra = (min(results["profiler + exact lines"]) - base) / calls * 1000
    print("  ~%.1f us extra per torch function call (%d calls per iteration)" % (extra, calls))


if __name__ == "__main__":
    main()
