"""The agent loop with its tool calls on a thread pool (see agent_loop.py)."""
from agent_loop import run

if __name__ == "__main__":
    run(pooled=True)
