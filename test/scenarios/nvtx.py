"""NVTX ranges through ctypes on libnvToolsExt.so.1 (no pip packages needed).

Used by the scenario scripts so that `nsys profile --trace=nvtx` records named ranges.
When the library is missing the ranges are no-ops and the scenarios still run.
"""
import ctypes
import contextlib

try:
    _lib = ctypes.CDLL("libnvToolsExt.so.1")
    _lib.nvtxRangePushA.argtypes = [ctypes.c_char_p]
except OSError:
    _lib = None


@contextlib.contextmanager
def annotate(name):
    if _lib is not None:
        _lib.nvtxRangePushA(name.encode())
    try:
        yield
    finally:
        if _lib is not None:
            _lib.nvtxRangePop()
