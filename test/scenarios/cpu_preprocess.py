"""A loop whose steps are CPU preprocessing only, with one step much slower than the rest.

`iteration_N` ranges hold `preprocess` work (tokenizing-like string handling); iteration 5 also
rebuilds a cache, the kind of periodic extra work that makes tail latency. No blocking calls:
tool-call-gaps must stay quiet here, step-time must flag iteration 5.
"""
from nvtx import annotate


def preprocess(n):
    words = [f"tok{i % 97}" for i in range(n)]
    return " ".join(words).split()


def rebuild_cache():
    return {i: str(i) * 3 for i in range(400_000)}


def main():
    for it in range(8):
        with annotate(f"iteration_{it}"):
            with annotate("preprocess"):
                preprocess(150_000)
            if it == 5:
                with annotate("rebuild_cache"):
                    rebuild_cache()


if __name__ == "__main__":
    main()
