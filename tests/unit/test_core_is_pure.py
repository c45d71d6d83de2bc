"""The core imports no web framework, ORM, broker or HTTP client, and reads no clock:
time comes from events (ARCHITECTURE.md, principle 3; STYLE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "unsnag"
CORE = ["events", "state", "detect", "cases", "resolve", "allocate", "policy", "engine.py"]
FORBIDDEN = {"sqlalchemy", "alembic", "psycopg", "fastapi", "starlette", "httpx", "requests",
             "nats", "smtplib", "socket", "urllib", "unsnag.store", "unsnag.connectors",
             "unsnag.dispatch", "unsnag.service", "unsnag.cli", "unsnag.twin"}  # fmt: skip
CLOCKS = {("datetime", "now"), ("datetime", "utcnow"), ("date", "today"), ("time", "time")}


def core_files() -> list[Path]:
    files: list[Path] = []
    for name in CORE:
        path = SRC / name
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


def imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_a_core_module_imports_no_adapter(path: Path) -> None:
    tree = ast.parse(path.read_text())
    bad = {name for name in imported(tree)
           for banned in FORBIDDEN if name == banned or name.startswith(banned + ".")}  # fmt: skip
    assert not bad, f"{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_a_core_module_reads_no_clock(path: Path) -> None:
    tree = ast.parse(path.read_text())
    calls = {
        (node.func.value.id, node.func.attr)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
    }
    assert not calls & CLOCKS, f"{path.name} reads the clock: {sorted(calls & CLOCKS)}"
