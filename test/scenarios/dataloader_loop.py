"""A training loop bound by its DataLoader: each sample is read from "disk" (a 12 ms sleep
standing in for file I/O and decoding), the step itself is 30 ms of CPU math.

`run(workers=0)` loads in the loop's own thread, so every step first waits ~50 ms for its batch
(dataloader_inline.py); `run(workers=4)` loads in four worker processes that prefetch while the
step runs (dataloader_workers.py). The fetch is annotated as torch's profiler names it.
"""
import time

import torch
from torch.utils.data import DataLoader, Dataset

from nvtx import annotate

STEPS = 16
BATCH = 4


class SlowDisk(Dataset):
    def __len__(self):
        return STEPS * BATCH

    def __getitem__(self, i):
        time.sleep(0.012)
        return torch.full((64,), float(i))


def train_step(x):
    w = torch.ones(64, 64)
    end = time.perf_counter() + 0.03
    while time.perf_counter() < end:
        x = torch.tanh(x @ w / 64)
    return x.sum()


def run(workers):
    torch.set_num_threads(1)
    extra = {"prefetch_factor": 2} if workers else {}
    loader = DataLoader(SlowDisk(), batch_size=BATCH, num_workers=workers, **extra)
    batches = iter(loader)
    # The workers' start-up (and the first batch) is paid once per epoch, before the loop.
    x = next(batches)
    with annotate("train_loop"):
        for step in range(STEPS):
            with annotate(f"train_step_{step}"):
                if step > 0:
                    with annotate("enumerate(DataLoader).__next__"):
                        x = next(batches)
                with annotate("forward_backward"):
                    train_step(x)
