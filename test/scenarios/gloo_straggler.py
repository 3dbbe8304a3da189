"""Four ranks all-reduce over gloo on the CPU; one rank is slow at a known line.

Started once per rank with RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set (see
scripts/capture-rank-fixtures.sh: torchrun is broken on Debian's Python 3.11). SLOW_RANK (2)
(env GLOO_SLOW_RANK) runs GLOO_STRAGGLER_ITERS (40; live tests raise it above load noise) matmuls at `straggler work`:
the others wait for it in the collective. NVTX ranges mark the phases for nsys captures.
"""
import os

import torch
import torch.distributed as dist
from nvtx import annotate

SLOW_RANK, STRAGGLER_ITERS = int(os.environ.get("GLOO_SLOW_RANK", "2")), int(os.environ.get("GLOO_STRAGGLER_ITERS", "40"))


def compute(x, w):
    return torch.relu(x @ w)


def main():
    rank = int(os.environ.get("RANK") or os.environ["SLURM_PROCID"])  # srun sets SLURM_PROCID
    dist.init_process_group("gloo", rank=rank, world_size=int(os.environ.get("WORLD_SIZE") or os.environ["SLURM_NTASKS"]))
    torch.manual_seed(0)
    x = torch.randn(128, 128)
    w = torch.randn(128, 128)
    for _ in range(5):
        with annotate("compute"):
            y = compute(x, w)
        if rank == SLOW_RANK:
            with annotate("straggler_work"):
                for _ in range(STRAGGLER_ITERS):
                    y = torch.tanh(y @ w)  # straggler work
        with annotate("all_reduce"):
            dist.all_reduce(y)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
