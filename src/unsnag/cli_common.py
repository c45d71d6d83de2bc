"""What every part of the `unsnag` command shares: the consoles and how an error reads
(one red line on stderr, exit 1)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from unsnag.errors import UnsnagError

console = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn an :class:`~unsnag.errors.UnsnagError` into one red line and exit 1."""
    try:
        yield
    except UnsnagError as exc:
        fail(str(exc))
