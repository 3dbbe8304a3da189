"""A tiny CPU MLP for torch.profiler captures: a few matmuls and activations per step.

Runs unchanged under GPU Lens' torch.profiler launcher; with a CUDA GPU the same lines show
kernel time, on a CPU-only machine they show CPU operator time.
"""

import torch

STEPS = 3


def layer(x, w):
    y = torch.matmul(x, w)
    return torch.relu(y)


def forward(x, weights):
    for w in weights:
        x = layer(x, w)
    return x.sum()


def main():
    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    weights = [torch.randn(256, 256, device=device) for _ in range(3)]
    total = 0.0
    for _ in range(STEPS):
        x = torch.randn(64, 256, device=device)
        total += float(forward(x, weights))
    print(f"done: {total:.3f}")


if __name__ == "__main__":
    main()
