"""Allocates tensors on known lines, some held and some freed: the memory-per-line tests profile it
with profile_memory=True (test/fixtures/memory/torch-memory-cpu.json is its capture)."""
import torch


def step(weights, kept):
    x = torch.randn(128, 256)  # freed when the step returns
    h = torch.matmul(x, weights)  # freed too
    kept.append(h.clone())  # kept: live at the peak


def main():
    weights = torch.randn(256, 256)  # held for the whole run
    kept = []
    for _ in range(4):
        step(weights, kept)
    scratch = torch.zeros(512, 512)  # the peak, freed right after
    total = float(scratch.sum()) + sum(float(k.sum()) for k in kept)
    del scratch
    print("total", total)


if __name__ == "__main__":
    main()
