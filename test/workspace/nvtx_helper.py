"""Tiny NVTX helper over ctypes: no pip packages needed, only libnvToolsExt.so.1.

Nsight Systems records the ranges when the script runs under `nsys profile --trace=nvtx`.
Without the library (or outside nsys) the calls are cheap no-ops.
"""

import ctypes
import ctypes.util
import sys
from contextlib import contextmanager


def _load():
    for name in ("libnvToolsExt.so.1", ctypes.util.find_library("nvToolsExt")):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.nvtxRangePushA.argtypes = [ctypes.c_char_p]
        lib.nvtxRangePushA.restype = ctypes.c_int
        lib.nvtxRangePop.argtypes = []
        lib.nvtxRangePop.restype = ctypes.c_int
        return lib
    print("nvtx_helper: libnvToolsExt not found, NVTX ranges are disabled", file=sys.stderr)
    return None


_lib = _load()


def range_push(name: str) -> None:
    """Opens a push/pop range on the calling thread."""
    if _lib is not None:
        _lib.nvtxRangePushA(name.encode("utf-8"))


def range_pop() -> None:
    """Closes the innermost range opened by range_push on this thread."""
    if _lib is not None:
        _lib.nvtxRangePop()


@contextmanager
def annotate(name: str):
    """`with annotate("step"):` wraps the block in an NVTX range."""
    range_push(name)
    try:
        yield
    finally:
        range_pop()
