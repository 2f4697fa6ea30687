#!/usr/bin/env python3
"""Fails when modules of a crate import each other in a circle.

For every crate under crates/, each module file (`foo.rs`, `foo/mod.rs`) names the modules it
uses through `crate::`, `super::` and `self::` paths (in `use` items and inline); a path
resolves to the deepest module it names. A module using one of its ancestors or descendants is
the ordinary shape of a module tree and is not counted; any other circle of uses is printed,
and the exit status is 1. Test modules (`#[cfg(test)] mod tests`) are left out.

Usage: scripts/module_cycles.py [repository root]
"""

import re
import sys
from pathlib import Path

PATH = re.compile(r"\b(crate|super|self)((?:::(?:[A-Za-z_][A-Za-z0-9_]*|\{[^;]*?\}))+)")
TESTS = re.compile(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{")

def module_of(src: Path, file: Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts.pop()
    return tuple(parts)


def expand(tail: str) -> list:
    """`::a::{b, c::d}` as the paths [a, b], [a, c, d] (segments only, items included)."""
    tail = tail.lstrip(":")
    brace = tail.find("{")
    if brace < 0:
        return [tail.split("::")]
    head = [s for s in tail[:brace].split("::") if s]
    inner, depth, part, parts = tail[brace + 1 : tail.rfind("}")], 0, "", []
    for ch in inner:
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "," and depth == 0:
            parts.append(part)
            part = ""
        else:
            part += ch
    parts.append(part)
    paths = []
    for p in (p.strip() for p in parts):
        if p and p != "self":
            paths += [head + sub for sub in expand("::" + p)]
    return paths or [head]


def uses(text: str, here: tuple, is_dir_module: bool) -> set:
    """The module paths `here` names (unresolved: segments may end in an item)."""
    found = set()
    for root, tail in PATH.findall(text):
        for segments in expand(tail):
            if root == "crate":
                base = ()
            elif root == "self":
                base = here if is_dir_module or not here else here
            else:
                base = here[:-1]
                while segments and segments[0] == "super":
                    base, segments = base[:-1], segments[1:]
            found.add(base + tuple(s for s in segments if s))
    return found


def resolve(path: tuple, modules: set) -> tuple:
    while path not in modules:
        path = path[:-1]
    return path


def related(a: tuple, b: tuple) -> bool:
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def cycles(graph: dict) -> list:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    sys.setrecursionlimit(10000)
    found = set()
    for src in sorted(root.glob("crates/*/src")):
        files = {module_of(src, f): f for f in src.rglob("*.rs") if "bin" not in f.parts}
        modules = set(files)
        graph = {}
        for here, file in files.items():
            text = TESTS.split(file.read_text())[0]
            dir_module = file.name in ("mod.rs", "lib.rs", "main.rs")
            targets = {resolve(p, modules) for p in uses(text, here, dir_module)}
            graph[here] = sorted(t for t in targets if not related(here, t))
        for component in cycles(graph):
            names = ", ".join("::".join(m) or "crate" for m in component)
            found.add(f"{src.parent.name}: {names}")
    for cycle in sorted(found):
        print(f"modules import each other in a circle: {cycle}")
    return 1 if found else 0

if __name__ == "__main__":
    sys.exit(main())
