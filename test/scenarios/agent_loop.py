"""An agent loop: decode a thought on the main thread, then call a tool (a 150 ms remote lookup).

`run(pooled=False)` calls each tool inline, so the loop's thread (the one that would drive the
GPU) blocks for every call. `run(pooled=True)` submits each call to a thread pool and decodes the
next request meanwhile, collecting the observations at the end: the same work, overlapped.
agent_tools_inline.py and agent_tools_pooled.py are the two captures of it.
"""
import time
from concurrent.futures import ThreadPoolExecutor

from nvtx import annotate

REQUESTS = 6


def decode(n):
    acc = 0
    for i in range(n):
        acc += (i * i) % 7
    return acc


def lookup(query):
    with annotate("tool_call:search_docs"):
        time.sleep(0.15)
    return f"result for {query}"


def run(pooled):
    with annotate("agent_loop"), ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        pending = []
        for req in range(REQUESTS):
            with annotate(f"agent_step_{req}"):
                with annotate("decode"):
                    decode(300_000)
                if pooled:
                    pending.append(pool.submit(lookup, f"q{req}"))
                else:
                    lookup(f"q{req}")
        for fut in pending:
            fut.result()
