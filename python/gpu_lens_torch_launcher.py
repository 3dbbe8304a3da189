#!/usr/bin/env python3
"""GPU Lens capture launcher: runs a Python script or module UNCHANGED under torch.profiler.

    python gpu_lens_torch_launcher.py --out TRACE.json [--wait N --warmup N --active N]
        [--step-on forward|optimizer] [--record-shapes] [--profile-memory] [--with-stack]
        [--exact-lines --workspace DIR] (--module M | SCRIPT) [ARGS...]

`{rank}` in --out is replaced by the process's rank (RANK, SLURM_PROCID or OMPI_COMM_WORLD_RANK),
so every rank of a distributed job writes its own file (`--out DIR/rank{rank}.json`); with
--exact-lines, torch.distributed collectives are named after their calling lines too.

The trace is written with `export_chrome_trace` when the program ends, also when it raises or
calls sys.exit (the launcher then re-raises / exits with the program's status).

--exact-lines wraps every torch function call in `torch.profiler.record_function(NAME)` where NAME
holds the chain of workspace frames with the line each one is executing (torch.profiler's own
stacks only give function definition lines). NAME format (parsed by GPU Lens'
src/core/ingest/kineto-exact-lines.ts, documented in docs/exact-lines.md):

    gpulens/1|ROOT|REL:LINE:FUNC|REL:LINE:FUNC...      (innermost frame first)

ROOT is the workspace folder, REL a path relative to it; fields are percent-encoded for '%', '|',
'"', '\\' and control characters, so '|' always separates fields (it cannot occur in a Windows
path) and a frame splits at its last two ':' (drive letters stay intact).

Schedules: with --wait/--warmup/--active, profiler steps advance at the end of every outermost
nn.Module call (--step-on forward, default) or after every optimizer step (--step-on optimizer,
torch >= 2.0), since the program itself is not changed to call prof.step().
"""

import argparse
import os
import runpy
import sys

PREFIX = "gpulens/1|"
# Innermost workspace frames kept per name: enough for attribution, keeps names short-ish.
MAX_FRAMES = 8
_ENCODE = {ord(c): "%%%02X" % ord(c) for c in '%|"\\'}
_ENCODE.update({i: "%%%02X" % i for i in range(0x20)})


def encode_field(text):
    """Percent-encodes the characters that would break the name format or the JSON export."""
    return text.translate(_ENCODE)


class WorkspaceFrames:
    """Builds exact-line names from the live Python stack, caching per code object."""

    def __init__(self, workspace):
        self.root = os.path.abspath(workspace)
        self.real_root = os.path.realpath(self.root)
        self.prefix = PREFIX + encode_field(self.root) + "|"
        self.own_file = os.path.normcase(os.path.realpath(__file__))
        # code object -> "REL:" and ":FUNC" parts, or None when the code is outside the workspace.
        self.cache = {}

    def _encode_code(self, code):
        filename = code.co_filename
        if filename.startswith("<"):
            return None
        path = os.path.abspath(filename)
        rel = None
        for root, candidate in ((self.root, path), (self.real_root, os.path.realpath(path))):
            if os.path.normcase(candidate) == self.own_file:
                return None
            if os.path.normcase(candidate).startswith(os.path.normcase(root) + os.sep):
                rel = os.path.relpath(candidate, root)
                break
        if rel is None:
            return None
        return (encode_field(rel) + ":", ":" + encode_field(code.co_name))

    def name(self, frame):
        """The marker name for the stack starting at `frame`, or None without workspace frames."""
        parts = []
        cache = self.cache
        while frame is not None and len(parts) < MAX_FRAMES:
            code = frame.f_code
            enc = cache.get(code, False)
            if enc is False:
                enc = cache[code] = self._encode_code(code)
            if enc is not None:
                parts.append(enc[0] + str(frame.f_lineno) + enc[1])
            frame = frame.f_back
        if not parts:
            return None
        return self.prefix + "|".join(parts)


def make_exact_line_mode(torch, workspace):
    """A TorchFunctionMode that opens a record_function range named after the calling lines."""
    from torch.overrides import TorchFunctionMode

    frames = WorkspaceFrames(workspace)
    record_function = torch.profiler.record_function
    profiler_enabled = torch.autograd._profiler_enabled

    class ExactLineMode(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if kwargs is None:
                kwargs = {}
            # Cheap exits first: nothing to name while the profiler is off (schedule wait phase).
            if not profiler_enabled():
                return func(*args, **kwargs)
            name = frames.name(sys._getframe(1))
            if name is None:
                return func(*args, **kwargs)
            with record_function(name):
                return func(*args, **kwargs)

    return ExactLineMode()


# torch.distributed calls are no torch functions (the mode never sees them): wrapped by name.
COLLECTIVES = (
    "all_reduce", "all_gather", "all_gather_into_tensor", "reduce_scatter", "reduce_scatter_tensor",
    "broadcast", "reduce", "all_to_all", "all_to_all_single", "barrier", "send", "recv",
)


def wrap_collectives(torch, workspace):
    """Names every torch.distributed collective call after its calling lines (exact lines)."""
    dist = getattr(torch, "distributed", None)
    if dist is None or not dist.is_available():
        return
    frames = WorkspaceFrames(workspace)
    record_function = torch.profiler.record_function
    profiler_enabled = torch.autograd._profiler_enabled

    def wrap(func):
        def call(*args, **kwargs):
            name = frames.name(sys._getframe(1)) if profiler_enabled() else None
            if name is None:
                return func(*args, **kwargs)
            with record_function(name):
                return func(*args, **kwargs)

        call.__wrapped__ = func
        return call

    for attr in COLLECTIVES:
        func = getattr(dist, attr, None)
        if callable(func):
            setattr(dist, attr, wrap(func))


def append_memory_events(prof, out):
    """Writes the allocator's allocations and frees into a legacy (Kineto-less) trace.

    Torch builds without Kineto (Debian's python3-torch 1.13) record them with profile_memory
    but their export_chrome_trace drops them; written here as Kineto writes them (`[memory]`
    instant events with Addr, Bytes, Total Allocated/Reserved, Device Type/Id), on the export's
    clock (µs from the trace start) and thread ids, so each falls inside its operator's span.
    """
    result = getattr(prof.profiler, "kineto_results", None)
    if result is None or not hasattr(result, "experimental_event_tree"):
        return
    start_us = result.trace_start_us()
    events = []
    pending = list(result.experimental_event_tree())
    while pending:
        node = pending.pop()
        pending.extend(node.children)
        fields = node.extra_fields
        if type(fields).__name__ != "_ExtraFields_Allocation":
            continue
        device = fields.device
        events.append((node.start_time_ns, (
            '{"ph": "i", "s": "t", "name": "[memory]", "pid": "CPU functions", "tid": %d, '
            '"ts": %.3f, "args": {"Addr": %d, "Bytes": %d, "Total Allocated": %d, '
            '"Total Reserved": %d, "Device Type": %d, "Device Id": %d}}'
        ) % (
            node.start_tid, node.start_time_ns / 1000.0 - start_us, fields.ptr, fields.alloc_size,
            fields.total_allocated, fields.total_reserved, 0 if device.type == "cpu" else 1,
            -1 if device.index is None else device.index,
        )))
    if not events:
        return
    events.sort(key=lambda e: e[0])
    with open(out, "r+") as f:
        # The legacy export is one JSON array: its last character is the closing bracket.
        f.seek(0, os.SEEK_END)
        f.seek(f.tell() - 1)
        if f.read(1) != "]":
            return
        f.seek(f.tell() - 1)
        f.write((", " if f.tell() > 1 else "") + ", ".join(e[1] for e in events) + "]")


def parse_args(argv):
    p = argparse.ArgumentParser(description="Run a Python program under torch.profiler for GPU Lens.")
    p.add_argument("--out", required=True, help="trace file to write (Chrome trace JSON)")
    p.add_argument("--wait", type=int)
    p.add_argument("--warmup", type=int)
    p.add_argument("--active", type=int)
    p.add_argument("--step-on", choices=("forward", "optimizer"), default="forward")
    p.add_argument("--record-shapes", action="store_true")
    p.add_argument("--profile-memory", action="store_true")
    p.add_argument("--with-stack", action="store_true")
    p.add_argument("--exact-lines", action="store_true")
    p.add_argument("--workspace", help="folder whose frames --exact-lines records (default: cwd)")
    p.add_argument("--module", "-m", help="run a module (like python -m) instead of a script")
    p.add_argument("program", nargs=argparse.REMAINDER, help="SCRIPT [ARGS...] or, with --module, ARGS...")
    ns = p.parse_args(argv)
    if ns.module is None and not ns.program:
        p.error("give a SCRIPT or --module M")
    return ns


def rank_path(out):
    """`{rank}` in --out becomes this process's rank (one trace per rank under any launcher)."""
    if "{rank}" not in out:
        return out
    env = os.environ
    rank = env.get("RANK") or env.get("SLURM_PROCID") or env.get("OMPI_COMM_WORLD_RANK") or "0"
    return out.replace("{rank}", rank)


def install_step_hooks(torch, prof, step_on):
    """Advances the profiler schedule without changing the program (see the module docstring)."""
    if step_on == "optimizer":
        from torch.optim import optimizer

        if not hasattr(optimizer, "register_optimizer_step_post_hook"):
            raise SystemExit("gpu-lens launcher: --step-on optimizer needs torch >= 2.0")
        optimizer.register_optimizer_step_post_hook(lambda *_: prof.step())
        return
    from torch.nn.modules import module

    depth = [0]

    def pre(*_):
        depth[0] += 1

    def post(*_):
        depth[0] -= 1
        if depth[0] == 0:
            prof.step()

    module.register_module_forward_pre_hook(pre)
    module.register_module_forward_hook(post)


def main(argv=None):
    ns = parse_args(sys.argv[1:] if argv is None else argv)
    import torch
    from torch.profiler import ProfilerActivity, profile, schedule

    out = os.path.abspath(rank_path(ns.out))
    activities = [ProfilerActivity.CPU]
    if torch.cuda.is_available():
        activities.append(ProfilerActivity.CUDA)
    scheduled = any(v is not None for v in (ns.wait, ns.warmup, ns.active))
    exported = [False]

    def export(prof):
        # A per-rank template's folder may not exist yet (every rank creates it, races are fine).
        os.makedirs(os.path.dirname(out), exist_ok=True)
        prof.export_chrome_trace(out)
        if ns.profile_memory and not torch.autograd.kineto_available():
            append_memory_events(prof, out)
        exported[0] = True

    kwargs = dict(
        activities=activities,
        record_shapes=ns.record_shapes,
        profile_memory=ns.profile_memory,
        with_stack=ns.with_stack,
    )
    if scheduled:
        kwargs["schedule"] = schedule(
            wait=ns.wait or 0, warmup=ns.warmup or 0, active=ns.active or 1, repeat=1
        )
        kwargs["on_trace_ready"] = export
    prof = profile(**kwargs)

    if ns.module is not None:
        sys.argv = [ns.module] + ns.program
        sys.path.insert(0, os.getcwd())
    else:
        script = os.path.abspath(ns.program[0])
        sys.argv = [script] + ns.program[1:]
        sys.path.insert(0, os.path.dirname(script))
    mode = make_exact_line_mode(torch, ns.workspace or os.getcwd()) if ns.exact_lines else None
    if ns.exact_lines:
        wrap_collectives(torch, ns.workspace or os.getcwd())

    prof.start()
    try:
        if scheduled:
            install_step_hooks(torch, prof, ns.step_on)
        if mode is not None:
            with mode:
                run(ns)
        else:
            run(ns)
    finally:
        prof.stop()
        if not scheduled:
            export(prof)
        if not exported[0]:
            sys.stderr.write("gpu-lens launcher: the schedule never reached its active steps; no trace\n")
        else:
            sys.stderr.write("gpu-lens launcher: trace written to %s\n" % out)


def run(ns):
    if ns.module is not None:
        runpy.run_module(ns.module, run_name="__main__", alter_sys=True)
    else:
        runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
