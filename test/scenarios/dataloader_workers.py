"""The DataLoader-bound loop with four prefetching workers (see dataloader_loop.py)."""
from dataloader_loop import run

if __name__ == "__main__":
    run(workers=4)
