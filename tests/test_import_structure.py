"""The import structure, read from the code (an AST walk, nothing imported): no import cycle among the modules of
rag/ or of ingest/, rag's packages import only those below them, and no import of ingest/ or api/ from rag/
except in rag/service.py, the one module that composes ingest and answering. Imports inside functions count the same as those at the top; imports under
`if TYPE_CHECKING:` do not (they never run)."""
from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

COMPOSER = "rag.service"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(*packages: str) -> dict[str, Path]:
    return {module_name(p): p for pkg in packages for p in sorted((ROOT / pkg).rglob("*.py"))
            if "demo_corpus" not in p.parts}


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of this tree that `name` imports: `from a.b import c` is a.b.c when that is a module of
    the tree, else a.b."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)) or _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
            continue
        base = node.module or ""
        if node.level:
            base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
        for a in node.names:
            out.add(f"{base}.{a.name}" if f"{base}.{a.name}" in known else base)
    return out


def graph(*packages: str) -> dict[str, set[str]]:
    mods = modules(*packages)
    known = set(mods)
    return {m: {t for t in imports_of(m, p, known) if t in known and t != m} for m, p in mods.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_in_rag_or_ingest():
    for package in ("rag", "ingest"):
        found = cycles(graph(package))
        assert not found, f"import cycles in {package}/: {found}"


def test_rag_imports_ingest_and_api_only_in_the_service():
    mods = modules("rag")
    known = set(modules("rag", "ingest", "api"))
    wrong = sorted((m, t) for m, p in mods.items() if m != COMPOSER
                   for t in imports_of(m, p, known) if t.split(".")[0] in ("ingest", "api"))
    assert not wrong, wrong


# rag's packages from the top floor down (README, "How it works"): each imports only packages after it.
FLOORS = ["rag.service", "rag.briefing", "rag.answering", "rag.relations", "rag.retrieval", "rag.entities",
          "rag.store", "rag.embeddings", "rag.core"]


def floor_of(module: str) -> int | None:
    return next((i for i, p in enumerate(FLOORS) if module == p or module.startswith(p + ".")), None)


def test_rag_packages_import_only_those_below_them():
    up = sorted((m, t) for m, targets in graph("rag").items() for t in targets
                if floor_of(m) is not None and floor_of(t) is not None and floor_of(t) < floor_of(m))
    assert not up, f"imports running back up (FLOORS): {up}"


def test_the_store_never_imports_the_domain():
    """rag/store/ may import rag.core and rag.embeddings only: the domain hands it what it needs (Store.attach)."""
    mods = modules("rag")
    wrong = sorted((m, t) for m, p in mods.items() if m.startswith("rag.store")
                   for t in imports_of(m, p, set(mods))
                   if t.startswith("rag.") and not t.startswith(("rag.store", "rag.core", "rag.embeddings")))
    assert not wrong, wrong


def test_the_walk_sees_a_cycle_and_a_function_local_import(tmp_path):
    """The checks above can fail: a cycle made only by an import inside a function is found."""
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("from b import x\n")
    b.write_text("def f():\n    import a\n")
    g = {"a": imports_of("a", a, {"a", "b"}) & {"b"}, "b": imports_of("b", b, {"a", "b"}) & {"a"}}
    assert cycles(g) == [["a", "b"]]
