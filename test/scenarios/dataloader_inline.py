"""The DataLoader-bound loop, loading in the loop's thread (see dataloader_loop.py)."""
from dataloader_loop import run

if __name__ == "__main__":
    run(workers=0)
