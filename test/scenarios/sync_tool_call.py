"""Decode loop that calls a tool synchronously between decode steps (the ReAct pattern).

Each `decode_step_N` range holds CPU work standing in for token generation and a blocking
`tool_call:lookup` (a 150 ms sleep, like a remote API). On a GPU the GPU would sit idle during
every tool call.
"""
import time

from nvtx import annotate


def generate_tokens(n):
    acc = 0
    for i in range(n):
        acc += (i * i) % 7
    return acc


def lookup(query):
    time.sleep(0.15)
    return f"result for {query}"


def main():
    for step in range(6):
        with annotate(f"decode_step_{step}"):
            with annotate("generate"):
                generate_tokens(300_000)
            with annotate("tool_call:lookup"):
                lookup(f"q{step}")


if __name__ == "__main__":
    main()
