"""The house: the package's import graph, read from its source, has no cycles; stages import only
the stages below them; the engine is pure (no sockets, terminals, processes or file writes)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "guardsh"

# Lowest first: a module may import from its own layer and the layers below it, never above.
LAYERS = (
    ("base", ("guardsh", "guardsh.paths", "guardsh.procs", "guardsh.hashing")),
    ("engine", ("guardsh.engine",)),
    ("caches", ("guardsh.cachefiles",)),
    ("undo", ("guardsh.undo",)),
    ("audit", ("guardsh.audit",)),
    ("preview", ("guardsh.preview",)),
    ("approval", ("guardsh.approval",)),
    ("shell", ("guardsh.shell",)),
    ("agents", ("guardsh.agents",)),
    ("daemon", ("guardsh.daemon",)),
    ("cli", ("guardsh.cli", "guardsh.__main__")),
)
# What the engine may never touch: it reads rules, config and the scripts it classifies, and that is all.
ENGINE_FORBIDDEN_IMPORTS = frozenset({
    "socket", "subprocess", "termios", "tty", "pty", "prompt_toolkit", "asyncio", "multiprocessing",
    "select", "selectors", "shutil", "tempfile", "fcntl", "signal", "_signal", "pexpect",
})
ENGINE_FORBIDDEN_OS_CALLS = frozenset({
    "fork", "forkpty", "system", "popen", "execv", "execve", "execvp", "execvpe", "execl", "execle", "execlp",
    "execlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe", "spawnl", "spawnle", "posix_spawn", "posix_spawnp",
    "kill", "killpg", "write", "replace", "rename", "renames", "makedirs", "mkdir", "remove", "unlink", "rmdir",
    "removedirs", "truncate", "ftruncate", "chmod", "chown", "link", "symlink", "mkfifo", "open", "openpty",
    "dup2", "setsid",
})


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, tuple[Path, ast.Module]]:
    return {module_name(p): (p, ast.parse(p.read_text(), str(p))) for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return True
    return False


def imports_of(name: str, path: Path, tree: ast.Module, known: set[str]) -> tuple[set[str], set[str]]:
    """(guardsh modules, other top-level modules) that a module imports at run time."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    inside: set[str] = set()
    outside: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if _type_checking_only(node, parents):
                continue
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "guardsh" or target.startswith("guardsh."):
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    inside.add(sub if sub in known else target)
            else:
                outside.add(target.split(".")[0])
        elif isinstance(node, ast.Import):
            if _type_checking_only(node, parents):
                continue
            for alias in node.names:
                if alias.name == "guardsh" or alias.name.startswith("guardsh."):
                    inside.add(alias.name)
                else:
                    outside.add(alias.name.split(".")[0])
    return inside, outside


def graph() -> dict[str, set[str]]:
    srcs = sources()
    known = set(srcs)
    return {name: imports_of(name, path, tree, known)[0] - {name} for name, (path, tree) in srcs.items()}


def layer_of(module: str) -> int:
    best = None
    for index, (_label, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or (prefix != "guardsh" and module.startswith(prefix + ".")):
                best = index
    assert best is not None, f"{module} belongs to no layer: add it to LAYERS in tests/test_layout.py"
    return best


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_module_belongs_to_a_layer() -> None:
    for module in graph():
        layer_of(module)


def test_stages_import_only_the_stages_below_them() -> None:
    wrong = [f"{src} imports {dst} ({LAYERS[layer_of(src)][0]} may not import {LAYERS[layer_of(dst)][0]})"
             for src, dsts in graph().items() for dst in sorted(dsts) if layer_of(dst) > layer_of(src)]
    assert wrong == []


def _engine_modules() -> list[tuple[str, Path, ast.Module]]:
    return [(name, path, tree) for name, (path, tree) in sources().items() if name.startswith("guardsh.engine")]


def test_the_engine_imports_nothing_impure() -> None:
    known = set(sources())
    wrong = []
    for name, path, tree in _engine_modules():
        _inside, outside = imports_of(name, path, tree, known)
        wrong.extend(f"{name} imports {m}" for m in sorted(outside & ENGINE_FORBIDDEN_IMPORTS))
    assert wrong == []


def _write_mode(call: ast.Call) -> bool:
    mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "mode"), None)
    if mode is None:
        return False
    if not isinstance(mode, ast.Constant) or not isinstance(mode.value, str):
        return True  # a mode guardsh cannot read here: treat as a write
    return any(c in mode.value for c in "wax+")


def impure_calls(tree: ast.AST) -> list[tuple[int, str]]:
    """Calls that start a process or write a file: os.fork(), os.replace(), open(..., 'w')..."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "os" \
                and func.attr in ENGINE_FORBIDDEN_OS_CALLS:
            found.append((node.lineno, f"os.{func.attr}()"))
        elif isinstance(func, ast.Name) and func.id == "open" and _write_mode(node):
            found.append((node.lineno, "open() for writing"))
    return found


def test_the_engine_starts_no_process_and_writes_no_file() -> None:
    wrong = [f"{name}:{line}: {what}" for name, _path, tree in _engine_modules() for line, what in impure_calls(tree)]
    assert wrong == []


@pytest.mark.parametrize("source, expected", [
    ("import os\nos.replace('a', 'b')\n", ["os.replace()"]),
    ("with open('x', 'wb') as f: pass\n", ["open() for writing"]),
    ("with open('x', mode) as f: pass\n", ["open() for writing"]),
    ("with open('x', 'rb') as f: pass\n", []),
    ("import os\nos.stat('x')\n", []),
])
def test_the_purity_check_sees_writes(source: str, expected: list[str]) -> None:
    assert [what for _line, what in impure_calls(ast.parse(source))] == expected
