"""Reading event files: JSON Lines (optionally gzipped) or one JSON array.

Every input item comes out with where it came from and its raw text, so a refused item
can be dead-lettered exactly as it arrived. Parsing never stops at a bad item.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import orjson

from unsnag.errors import ContractViolation
from unsnag.events import Event, parse_event


@dataclass(frozen=True, slots=True)
class Refused:
    """An input item that broke the contract: where, why, and the raw text."""

    origin: str
    reason: str
    field: str | None
    raw: str

    def to_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "reason": self.reason, "field": self.field, "raw": self.raw}


Item = tuple[str, int, bytes, Any]
"""(file, line or index (-1 for the whole file), raw bytes, decoded JSON or a violation).
The origin text is only formatted for refused items."""


def _open(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def _is_array(path: Path) -> bool:
    with _open(path) as handle:
        head = handle.read(4096).lstrip()
    return head.startswith(b"[")


def _decode(line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return ContractViolation(f"not JSON: {exc}")


def _array_items(path: Path) -> Iterator[Item]:
    with _open(path) as handle:
        text = handle.read()
    decoded = _decode(text)
    if isinstance(decoded, ContractViolation) or not isinstance(decoded, list):
        reason = decoded if isinstance(decoded, ContractViolation) else None
        yield str(path), -1, text, reason or ContractViolation("expected a JSON array of events")
        return
    for index, item in enumerate(decoded):
        yield f"{path}#item", index, orjson.dumps(item), item


PROGRESS_EVERY = 2048  # lines between progress reports


def _position(handle: IO[bytes]) -> int:
    """Bytes of the file on disk consumed so far (compressed bytes for .gz)."""
    inner = getattr(handle, "fileobj", None)
    return int(inner.tell()) if inner is not None else handle.tell()


def _line_items(path: Path, on_position: Callable[[int], None] | None) -> Iterator[Item]:
    with _open(path) as handle:
        yield from _stream_items(handle, str(path), on_position)


def _stream_items(
    handle: IO[bytes], name: str, on_position: Callable[[int], None] | None = None
) -> Iterator[Item]:
    for number, line in enumerate(handle, start=1):
        if on_position is not None and number % PROGRESS_EVERY == 0:
            on_position(_position(handle))
        stripped = line.strip()
        if stripped:
            yield name, number, stripped, _decode(stripped)


def read_stream(handle: IO[bytes], name: str = "stdin") -> Iterator[Item]:
    """Yield every line of a JSON Lines stream (standard input), as it arrives."""
    yield from _stream_items(handle, name)


def read_items(path: Path, on_position: Callable[[int], None] | None = None) -> Iterator[Item]:
    """Yield every item of a JSON Lines file or a JSON array file.

    ``on_position`` is told, every few thousand lines, how many bytes of the file (as
    stored: compressed for .gz) have been read — for a progress bar.
    """
    if _is_array(path):
        yield from _array_items(path)
    else:
        yield from _line_items(path, on_position)


def parse_items(
    items: Iterator[Item], extra_systems: frozenset[str] = frozenset(), own: bool = False
) -> Iterator[Event | Refused]:
    """Validate items against the contract; refused ones carry their raw text.

    ``own=True`` admits unsnag's own events (a replay of an exported log)."""
    for name, where, raw, decoded in items:
        if isinstance(decoded, ContractViolation):
            error = decoded
        else:
            try:
                yield parse_event(decoded, extra_systems, own)
                continue
            except ContractViolation as exc:
                error = exc
        yield Refused(
            _origin(name, where), error.reason, error.field, raw.decode("utf-8", "replace")
        )


def _origin(name: str, where: int) -> str:
    """``file:line`` for JSON Lines, ``file#item:index`` for an element of a JSON array."""
    return name if where < 0 else f"{name}:{where}"
