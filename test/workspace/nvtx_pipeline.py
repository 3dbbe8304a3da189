"""A small batch pipeline annotated with NVTX: load → (preprocess → infer → postprocess) × N.

`infer` stands in for waiting on an accelerator or a model server (a sleep), so Nsight Systems
sees an OS-runtime wait inside each `infer` range. The counts below are what a trace must show:
one `load_model`, and ITERATIONS each of `batch`, `preprocess`, `infer`, `postprocess`.
"""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nvtx_helper import annotate  # noqa: E402

ITERATIONS = int(os.environ.get("PIPELINE_ITERATIONS", "4"))
INFER_SECONDS = 0.02


def load_model(path):
    with annotate("load_model"):
        with open(path, "wb") as f:
            f.write(os.urandom(64 * 1024))
        with open(path, "rb") as f:
            return f.read()


def preprocess(batch_id):
    with annotate("preprocess"):
        return [((batch_id * 31 + i) % 97) / 97.0 for i in range(20000)]


def infer(weights, features):
    with annotate("infer"):
        time.sleep(INFER_SECONDS)
        return sum(features) * len(weights)


def postprocess(score):
    with annotate("postprocess"):
        return round(score, 3)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        weights = load_model(os.path.join(tmp, "weights.bin"))
        results = []
        for batch_id in range(ITERATIONS):
            with annotate("batch"):
                features = preprocess(batch_id)
                results.append(postprocess(infer(weights, features)))
    print(f"processed {len(results)} batches")


if __name__ == "__main__":
    main()
