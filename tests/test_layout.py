"""The code's layout: each import runs down the pipeline, never up, and never in a circle.

A newcomer reads the folders in this order (lowest first); a module may import its own
layer or one below it. The ranks are this test's own statement of the architecture.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGES = ("bot", "ingest", "ui")
# Lower first. A module's rank is that of the longest prefix listed.
RANKS = {
    "ingest.errors": 0,
    "ingest.types": 0,
    "ingest.dates": 0,
    "ingest.cleaning": 0,
    "ingest.sentences": 0,
    "ingest.chunking": 0,
    "ingest.write_lock": 0,
    "ingest.sources": 1,
    "ingest.encoders": 1,
    "ingest.index": 1,
    "ingest.annotate": 1,
    "ingest.pipeline": 2,
    "ingest": 2,
    "bot.tuning": 3,
    "bot.types": 3,
    "bot.settings": 4,
    "bot.question": 5,
    "bot.retrieval": 6,
    "bot.answer": 7,
    "bot.newsbot": 8,
    "bot.langchain_retriever": 8,  # built by NewsBot.as_retriever, knows it only as Any
    "bot": 9,  # the package's public names
    "bot.eval": 9,
    "ui": 10,
    "bot.cli": 11,  # the command line: the top, it starts the web chat too
    "bot.__main__": 12,  # `python -m bot`: the command line
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def rank(module: str) -> int:
    prefixes = [p for p in RANKS if module == p or module.startswith(p + ".")]
    assert prefixes, f"{module} has no rank: add it to RANKS"
    return RANKS[max(prefixes, key=len)]


def imported(path: Path) -> set[str]:
    """Our modules that `path` imports anywhere (functions included): `from bot import
    tuning` counts as bot.tuning, since that is the module it reaches for."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (REPO / candidate.replace(".", "/")).with_suffix(".py").exists()
                is_package = (REPO / candidate.replace(".", "/") / "__init__.py").exists()
                names.add(candidate if is_module or is_package else node.module)
    return {name for name in names if name.split(".")[0] in PACKAGES}


def sources() -> dict[str, Path]:
    return {
        module_name(path): path for package in PACKAGES for path in (REPO / package).rglob("*.py")
    }


def test_imports_only_run_down_the_layers() -> None:
    upward = [
        f"{module} (rank {rank(module)}) imports {target} (rank {rank(target)})"
        for module, path in sources().items()
        for target in imported(path)
        if rank(target) > rank(module) and not module.startswith(target + ".")
    ]
    assert not upward, "\n".join(upward)


def test_no_module_imports_itself_round_a_circle() -> None:
    graph = {module: imported(path) - {module} for module, path in sources().items()}
    # A package's __init__ may name its own modules; a circle through one is no cycle.
    for module in graph:
        graph[module] = {t for t in graph[module] if not t.startswith(module + ".")}
    seen: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        seen[module] = 1
        for target in sorted(graph.get(module, ())):
            if seen.get(target) == 1:
                raise AssertionError(" -> ".join([*path, module, target]))
            if target not in seen:
                visit(target, [*path, module])
        seen[module] = 2

    for module in sorted(graph):
        if module not in seen:
            visit(module, [])


def test_every_folder_says_what_it_holds() -> None:
    for package in sorted({path.parent for path in sources().values()}):
        init = package / "__init__.py"
        assert init.exists(), f"{package} is not a package"
        assert ast.get_docstring(ast.parse(init.read_text())), f"{init} has no docstring"
