"""GPU Lens Quick Fix edits, computed from the source's syntax tree (Python's own `ast`).

Reads one JSON request on stdin: {"source": str, "line": int (1-based), "kind": str} and writes
one JSON answer on stdout: {"ok": true, "title": str, "edits": [{"line", "col", "endLine",
"endCol", "text"}]} with 1-based lines and 0-based columns in UTF-16 code units (what the editor
counts), or {"ok": false, "reason": str} when the call to change cannot be found unambiguously.
The source is parsed, never executed. Kinds:

- dataloader-workers: the DataLoader(...) that the loop at `line` iterates (or the file's only
  one) gets num_workers, pin_memory, persistent_workers and prefetch_factor where missing.
- non-blocking-copy: the one .to(...) / .cuda(...) call on `line` gets non_blocking=True.
- expandable-segments: PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True set at the top of the
  file (after the docstring and __future__ imports), before torch allocates.
- periodic-sync: the print/log statement on `line` whose .item()/.cpu()/.tolist()/.numpy() makes
  the host wait for the GPU runs every 100 steps of its loop (`if step % 100 == 0:`). Only a
  statement that reports (print, logger.*, writer.add_scalar, wandb.log …): a value that is kept
  would change what the loop computes.
- torch-compile: the function holding `line` gets @torch.compile(mode="reduce-overhead") (CUDA
  graphs and fused kernels for a launch-bound step); refused for a line inside a loop of that
  function (the loop is not the step), generators, coroutines, and PyTorch < 2.0.
"""

import ast
import importlib.metadata
import json
import sys

DATALOADER_OPTIONS = [
    ("num_workers", "4"),
    ("pin_memory", "True"),
    ("persistent_workers", "True"),
    ("prefetch_factor", "2"),
]
ALLOC_LINE = 'os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")'
SYNC_METHODS = ("item", "cpu", "tolist", "numpy")
# Calls whose only effect is to report a value: running them less often changes no result.
REPORTING_FUNCTIONS = ("print",)
REPORTING_METHODS = (
    "debug", "info", "warning", "warn", "error", "log", "write", "add_scalar", "add_scalars",
    "set_postfix", "set_description",
)
EVERY = 100


class Refused(Exception):
    """The edit cannot be made with confidence; the message says why."""


class Source:
    """The text with conversions from ast positions (UTF-8 byte columns) to UTF-16 columns."""

    def __init__(self, text):
        self.lines = text.split("\n")

    def col(self, line, byte_col):
        prefix = self.lines[line - 1].encode("utf-8")[:byte_col].decode("utf-8", "replace")
        return len(prefix.encode("utf-16-le")) // 2

    def pos(self, line, byte_col):
        return line, self.col(line, byte_col)

    def text_between(self, start, end):
        """Text from (line, byte col) to (line, byte col)."""
        (l1, c1), (l2, c2) = start, end
        if l1 == l2:
            return self.lines[l1 - 1].encode("utf-8")[c1:c2].decode("utf-8", "replace")
        parts = [self.lines[l1 - 1].encode("utf-8")[c1:].decode("utf-8", "replace")]
        parts += self.lines[l1 : l2 - 1]
        parts.append(self.lines[l2 - 1].encode("utf-8")[:c2].decode("utf-8", "replace"))
        return "\n".join(parts)


def insert(src, line, byte_col, text):
    l, c = src.pos(line, byte_col)
    return {"line": l, "col": c, "endLine": l, "endCol": c, "text": text}


def replace_node(src, node, text):
    l1, c1 = src.pos(node.lineno, node.col_offset)
    l2, c2 = src.pos(node.end_lineno, node.end_col_offset)
    return {"line": l1, "col": c1, "endLine": l2, "endCol": c2, "text": text}


def add_keywords(src, call, pairs):
    """Edits that add `name=value` keywords after the call's last argument (or into empty parens)."""
    if not pairs:
        return []
    new = ", ".join(f"{k}={v}" for k, v in pairs)
    args = list(call.args) + list(call.keywords)
    if not args:
        return [insert(src, call.end_lineno, call.end_col_offset - 1, new)]  # before ")"
    last = max(args, key=lambda a: (a.end_lineno, a.end_col_offset))
    after = src.text_between(
        (last.end_lineno, last.end_col_offset), (call.end_lineno, call.end_col_offset - 1)
    )
    if "," not in after:
        return [insert(src, last.end_lineno, last.end_col_offset, ", " + new)]
    # A trailing comma stays trailing: the keywords go right after it, with one of their own.
    before_comma = after[: after.index(",")]
    line = last.end_lineno + before_comma.count("\n")
    if "\n" in before_comma:
        col = len(before_comma.rsplit("\n", 1)[1].encode("utf-8")) + 1
    else:
        col = last.end_col_offset + len(before_comma.encode("utf-8")) + 1
    return [insert(src, line, col, " " + new + ",")]


def is_call_to(node, name):
    f = node.func
    return (isinstance(f, ast.Name) and f.id == name) or (
        isinstance(f, ast.Attribute) and f.attr == name
    )


def loop_target_call(tree, line):
    """The DataLoader(...) call the `for` loop (or comprehension) at `line` iterates, if any."""
    loops = [n for n in ast.walk(tree) if isinstance(n, (ast.For, ast.AsyncFor)) and n.lineno == line]
    loaders = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and is_call_to(n, "DataLoader")]
    for loop in loops:
        it = loop.iter
        # enumerate(loader), tqdm(loader), zip(loader, ...): look through one wrapping call.
        while isinstance(it, ast.Call) and not is_call_to(it, "DataLoader") and it.args:
            it = it.args[0]
        if isinstance(it, ast.Call) and is_call_to(it, "DataLoader"):
            return it
        if isinstance(it, (ast.Name, ast.Attribute)):
            name = it.id if isinstance(it, ast.Name) else it.attr
            assigned = []
            for n in ast.walk(tree):
                if isinstance(n, (ast.Assign, ast.AnnAssign)) and isinstance(n.value, ast.Call):
                    targets = n.targets if isinstance(n, ast.Assign) else [n.target]
                    for t in targets:
                        tname = t.id if isinstance(t, ast.Name) else getattr(t, "attr", None)
                        if tname == name and is_call_to(n.value, "DataLoader"):
                            assigned.append(n.value)
            if len(assigned) == 1:
                return assigned[0]
            if len(assigned) > 1:
                raise Refused(f'"{name}" is assigned a DataLoader at {len(assigned)} places')
    if len(loaders) == 1:
        return loaders[0]
    if not loaders:
        raise Refused("no DataLoader(...) call in this file")
    raise Refused(f"{len(loaders)} DataLoader(...) calls in this file and none is the loop's")


def literal(node):
    return node.value if isinstance(node, ast.Constant) else None


def dataloader_workers(src, tree, line):
    call = loop_target_call(tree, line)
    if any(k.arg is None for k in call.keywords):
        raise Refused("the DataLoader call passes **kwargs: its options cannot be seen")
    given = {k.arg: k for k in call.keywords}
    edits, added = [], []
    workers = given.get("num_workers")
    if workers is not None and literal(workers.value) == 0:
        edits.append(replace_node(src, workers.value, "4"))
    pin = given.get("pin_memory")
    if pin is not None and literal(pin.value) is False:
        edits.append(replace_node(src, pin.value, "True"))
    for name, value in DATALOADER_OPTIONS:
        if name not in given:
            added.append((name, value))
    if not edits and not added:
        raise Refused("the DataLoader already sets num_workers, pin_memory, persistent_workers and prefetch_factor")
    edits += add_keywords(src, call, added)
    return "Load batches in 4 DataLoader workers, pinned and prefetched", edits


def non_blocking_copy(src, tree, line):
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in ("to", "cuda")
        and n.func.end_lineno == line
    ]
    if not calls:
        raise Refused("no .to(...) or .cuda(...) call on this line")
    if len(calls) > 1:
        raise Refused(f"{len(calls)} .to(...)/.cuda(...) calls on this line")
    call = calls[0]
    if any(k.arg is None for k in call.keywords):
        raise Refused("the call passes **kwargs")
    nb = next((k for k in call.keywords if k.arg == "non_blocking"), None)
    if nb is not None:
        if literal(nb.value) is True:
            raise Refused("the copy is already non_blocking=True")
        return "Copy with non_blocking=True", [replace_node(src, nb.value, "True")]
    return "Copy with non_blocking=True", add_keywords(src, call, [("non_blocking", "True")])


def top_of_file(src, tree, text):
    """An edit inserting `text` (whole lines) after the docstring and __future__ imports."""
    body = tree.body
    i = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(literal(body[0].value), str):
        i = 1
    while i < len(body) and isinstance(body[i], ast.ImportFrom) and body[i].module == "__future__":
        i += 1
    at = body[i].lineno if i < len(body) else len(src.lines) + 1
    # Decorators and comments above the first statement stay below the new lines.
    if i < len(body) and getattr(body[i], "decorator_list", None):
        at = min(d.lineno for d in body[i].decorator_list)
    if at > len(src.lines):
        return insert(src, len(src.lines), len(src.lines[-1].encode("utf-8")), "\n" + text)
    return insert(src, at, 0, text)


def expandable_segments(src, tree, _line):
    if "PYTORCH_CUDA_ALLOC_CONF" in "\n".join(src.lines):
        raise Refused("the file already sets PYTORCH_CUDA_ALLOC_CONF")
    # `import os` again is harmless where the file imports it later, and needed where it does not.
    text = "import os\n" + ALLOC_LINE + "\n"
    return "Set PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True", [top_of_file(src, tree, text)]


def parents_of(tree):
    parents = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    return parents


def ancestors(parents, node):
    while node in parents:
        node = parents[node]
        yield node


def leading(src, line):
    text = src.lines[line - 1]
    return text[: len(text) - len(text.lstrip())]


def simple_statement_at(src, tree, line):
    """The one simple (non-compound) statement on `line`, alone on its lines."""
    found = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.stmt)
        and not hasattr(n, "body")
        and not hasattr(n, "cases")  # match statements
        and n.lineno <= line <= n.end_lineno
    ]
    if not found:
        raise Refused("no statement on this line")
    stmt = min(found, key=lambda n: n.end_lineno - n.lineno)
    before = src.text_between((stmt.lineno, 0), (stmt.lineno, stmt.col_offset))
    after = src.lines[stmt.end_lineno - 1].encode("utf-8")[stmt.end_col_offset :].decode("utf-8")
    if before.strip() or (after.strip() and not after.strip().startswith("#")):
        raise Refused("the line holds more than one statement")
    return stmt


def is_reporting(call):
    f = call.func
    if isinstance(f, ast.Name):
        return f.id in REPORTING_FUNCTIONS
    return isinstance(f, ast.Attribute) and f.attr in REPORTING_METHODS


def loop_counter(loop):
    """The integer step variable of `for i in range(…)` / `for i, x in enumerate(…)`, or None."""
    it, target = loop.iter, loop.target
    if isinstance(it, ast.Call) and is_call_to(it, "range") and isinstance(target, ast.Name):
        return target.id
    if (
        isinstance(it, ast.Call)
        and is_call_to(it, "enumerate")
        and isinstance(target, ast.Tuple)
        and target.elts
        and isinstance(target.elts[0], ast.Name)
    ):
        return target.elts[0].id
    return None


def periodic_sync(src, tree, line):
    stmt = simple_statement_at(src, tree, line)
    syncs = [
        n
        for n in ast.walk(stmt)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in SYNC_METHODS
        and not n.args
        and not n.keywords
    ]
    if not syncs:
        raise Refused("no .item(), .cpu(), .tolist() or .numpy() call on this line")
    if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        raise Refused("the value is kept: reading it every 100 steps would change what the loop computes")
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and is_reporting(stmt.value)):
        raise Refused("the sync is not in a print or log statement, whose value nothing else reads")
    parents = parents_of(tree)
    loop = None
    for a in ancestors(parents, stmt):
        if isinstance(a, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            break
        if isinstance(a, ast.If) and any(isinstance(n, ast.Mod) for n in ast.walk(a.test)):
            raise Refused("the statement already runs periodically (an `if … % …` holds it)")
        if isinstance(a, (ast.For, ast.AsyncFor)):
            loop = a
            break
    if loop is None:
        raise Refused("the statement is not inside a for loop")
    counter = loop_counter(loop)
    if counter is None:
        raise Refused("the loop has no step counter: iterate with `for step, x in enumerate(…)`")
    if any(
        isinstance(n, ast.Constant) and isinstance(n.value, str) and n.lineno != n.end_lineno
        for n in ast.walk(stmt)
    ):
        raise Refused("the statement holds a multi-line string, which re-indenting would change")
    indent = leading(src, stmt.lineno)
    unit = leading(src, loop.body[0].lineno)[len(leading(src, loop.lineno)) :] or "    "
    old = src.text_between((stmt.lineno, 0), (stmt.end_lineno, stmt.end_col_offset))
    lines = old.split("\n")
    text = f"{indent}if {counter} % {EVERY} == 0:\n" + "\n".join(
        [indent + unit + lines[0][len(indent) :]] + [unit + l for l in lines[1:]]
    )
    l2, c2 = src.pos(stmt.end_lineno, stmt.end_col_offset)
    method = syncs[0].func.attr
    title = f"Report every {EVERY} steps (the .{method}() sync then blocks once per {EVERY} iterations)"
    return title, [{"line": stmt.lineno, "col": 0, "endLine": l2, "endCol": c2, "text": text}]


def torch_major():
    """The installed PyTorch's major version (read from its metadata, never imported), or None."""
    try:
        return int(importlib.metadata.version("torch").split(".")[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return None


def torch_alias(tree):
    """The name `import torch` binds at module level, or None when the file does not import it."""
    for n in tree.body:
        if isinstance(n, ast.Import):
            for a in n.names:
                if a.name == "torch":
                    return a.asname or "torch"
    return None


def own_nodes(fn):
    """Nodes of a function's body that are not inside a nested function, class or lambda."""
    stack = list(fn.body)
    while stack:
        n = stack.pop()
        yield n
        if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(n))


def torch_compile(src, tree, line):
    fns = [
        n
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.lineno <= line <= n.end_lineno
    ]
    if not fns:
        raise Refused("the line is not inside a function: torch.compile compiles a function (move the step into one)")
    fn = min(fns, key=lambda n: n.end_lineno - n.lineno)
    if isinstance(fn, ast.AsyncFunctionDef):
        raise Refused(f"`{fn.name}` is a coroutine, which torch.compile cannot compile")
    if any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in own_nodes(fn)):
        raise Refused(f"`{fn.name}` is a generator, which torch.compile cannot compile")
    for d in fn.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        if (isinstance(target, ast.Name) and target.id == "compile") or (
            isinstance(target, ast.Attribute) and target.attr == "compile"
        ):
            raise Refused(f"`{fn.name}` is already compiled")
    for n in own_nodes(fn):
        if isinstance(n, (ast.For, ast.AsyncFor, ast.While)) and n.lineno <= line <= n.end_lineno:
            raise Refused(
                f"the line is inside a loop of `{fn.name}`: compile the step the loop runs, not the loop "
                "(move the step into a function of its own)"
            )
    major = torch_major()
    if major is not None and major < 2:
        raise Refused(f"torch.compile needs PyTorch 2.0 or later; this interpreter has {importlib.metadata.version('torch')}")
    alias = torch_alias(tree)
    decorator = insert(
        src, fn.lineno, 0, f'{leading(src, fn.lineno)}@{alias or "torch"}.compile(mode="reduce-overhead")\n'
    )
    edits = [decorator]
    if not alias:
        imp = top_of_file(src, tree, "import torch\n")
        # Two inserts at one place would apply in no defined order: make them one.
        if (imp["line"], imp["col"]) == (decorator["line"], decorator["col"]):
            decorator["text"] = imp["text"] + decorator["text"]
        else:
            edits.insert(0, imp)
    return f'Compile `{fn.name}` with torch.compile(mode="reduce-overhead")', edits


KINDS = {
    "dataloader-workers": dataloader_workers,
    "non-blocking-copy": non_blocking_copy,
    "expandable-segments": expandable_segments,
    "periodic-sync": periodic_sync,
    "torch-compile": torch_compile,
}


def main():
    req = json.load(sys.stdin)
    kind = KINDS.get(req.get("kind"))
    if kind is None:
        raise Refused(f"unknown edit kind {req.get('kind')!r}")
    text = req["source"]
    try:
        tree = ast.parse(text)
    except SyntaxError as e:
        raise Refused(f"the file does not parse (line {e.lineno}): {e.msg}")
    title, edits = kind(Source(text), tree, int(req["line"]))
    return {"ok": True, "title": title, "edits": edits}


if __name__ == "__main__":
    try:
        answer = main()
    except Refused as e:
        answer = {"ok": False, "reason": str(e)}
    json.dump(answer, sys.stdout)
