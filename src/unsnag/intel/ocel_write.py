"""Write an OCEL 2.0 log in the JSON or the SQLite flavour, streaming the events.

JSON: attribute values are written as text, as the standard's published JSON schema
requires (``"value": {"type": "string"}``), typed by the declared attribute types; the
events come first in the file, the objects and the type declarations after them, so
nothing but the objects waits in memory. SQLite: the tables of the standard's relational
format (``event``, ``object``, ``event_object``, ``object_object``, ``event_map_type``,
``object_map_type``, one ``event_<type>`` and one ``object_<type>`` table per type),
with its keys and foreign keys; an object's first values sit in a row at 1970-01-01
(the standard's "initial values"), each later change in a row naming the changed field.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import orjson

from unsnag.errors import UnsnagError
from unsnag.intel.ocel_export import Obj, OcelBuilder, Record, Scalar

FORMATS = ("json", "sqlite")
EXTENSIONS = {".json": "json", ".jsonocel": "json", ".sqlite": "sqlite", ".sqlite3": "sqlite",
              ".db": "sqlite"}  # fmt: skip
SQL_TYPES = {"string": "TEXT", "integer": "INTEGER", "float": "REAL", "boolean": "BOOLEAN",
             "time": "TIMESTAMP"}  # fmt: skip
EPOCH = "1970-01-01 00:00:00"


class ExportError(UnsnagError):
    title = "OCEL export failed"


def format_for(path: Path, given: str | None) -> str:
    """The flavour to write: ``--format`` if given, else from the file extension."""
    if given is not None:
        if given not in FORMATS:
            raise ExportError(f"unknown format {given!r}; choose one of {', '.join(FORMATS)}")
        return given
    flavour = EXTENSIONS.get(path.suffix.lower())
    if flavour is None:
        raise ExportError(
            f"{path}: cannot tell the format from the extension; use .json/.jsonocel or "
            ".sqlite, or --format json|sqlite"
        )
    return flavour


def text_value(value: Scalar) -> str:
    """An attribute value as the JSON schema wants it: text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return value if isinstance(value, str) else str(value)


def sql_time(iso_z: str) -> str:
    """``2026-05-04T10:29:44Z`` -> ``2026-05-04 10:29:44`` (UTC), as the standard shows."""
    return iso_z.replace("T", " ").removesuffix("Z")


class Writer(Protocol):
    def event(self, record: Record) -> None: ...

    def finish(self, builder: OcelBuilder) -> None: ...

    def close(self) -> None: ...


# --- JSON ------------------------------------------------------------------------------


class JsonWriter:
    def __init__(self, path: Path) -> None:
        self.handle: IO[bytes] = path.open("wb")
        self.handle.write(b'{"events":[')
        self.first = True

    def event(self, record: Record) -> None:
        item = {
            "id": record.id,
            "type": record.type,
            "time": record.time,
            "attributes": [
                {"name": n, "value": v if type(v) is str else text_value(v)}
                for n, v in record.attrs
            ],
            "relationships": [{"objectId": o, "qualifier": q} for o, q in record.rel],
        }
        self.handle.write(orjson.dumps(item) if self.first else b"," + orjson.dumps(item))
        self.first = False

    def finish(self, builder: OcelBuilder) -> None:
        out = self.handle
        out.write(b'],"objects":[')
        for index, obj in enumerate(builder.objects.values()):
            out.write((b"," if index else b"") + orjson.dumps(_json_object(obj)))
        out.write(b'],"eventTypes":')
        out.write(orjson.dumps(_json_types(builder.event_types)))
        out.write(b',"objectTypes":')
        out.write(orjson.dumps(_json_types(builder.object_types())))
        out.write(b"}")

    def close(self) -> None:
        self.handle.close()


def _json_object(obj: Obj) -> dict[str, Any]:
    return {
        "id": obj.oid,
        "type": obj.type,
        "attributes": [
            {"name": name, "time": when, "value": text_value(value)}
            for name, history in obj.attrs.items()
            for when, value in history
        ],
        "relationships": [{"objectId": o, "qualifier": q} for o, q in obj.rel],
    }


def _json_types(declared: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    return [
        {"name": name, "attributes": [{"name": a, "type": t} for a, t in sorted(attrs.items())]}
        for name, attrs in sorted(declared.items())
    ]


# --- SQLite ----------------------------------------------------------------------------


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class TypeNamer:
    """Each type's table suffix: CamelCase of its words (``order.created`` ->
    ``OrderCreated``), made unique ignoring case — the standard's injective map."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.used: set[str] = set()

    def __call__(self, kind: str) -> str:
        found = self.names.get(kind)
        if found is None:
            words = re.split(r"[^0-9A-Za-z]+", kind)
            base = "".join(w[:1].upper() + w[1:] for w in words) or "Type"
            found, n = base, 2
            while found.casefold() in self.used:
                found, n = f"{base}_{n}", n + 1
            self.used.add(found.casefold())
            self.names[kind] = found
        return found


def type_map(names: Iterable[str]) -> dict[str, str]:
    namer = TypeNamer()
    return {name: namer(name) for name in sorted(names)}


CORE_DDL = (
    "CREATE TABLE event_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT NOT NULL)",
    "CREATE TABLE object_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT NOT NULL)",
    "CREATE TABLE event (ocel_id TEXT PRIMARY KEY, ocel_type TEXT NOT NULL"
    " REFERENCES event_map_type (ocel_type)) WITHOUT ROWID",
    "CREATE TABLE object (ocel_id TEXT PRIMARY KEY, ocel_type TEXT NOT NULL"
    " REFERENCES object_map_type (ocel_type)) WITHOUT ROWID",
    "CREATE TABLE event_object (ocel_event_id TEXT NOT NULL REFERENCES event (ocel_id),"
    " ocel_object_id TEXT NOT NULL REFERENCES object (ocel_id), ocel_qualifier TEXT NOT NULL,"
    " PRIMARY KEY (ocel_event_id, ocel_object_id, ocel_qualifier)) WITHOUT ROWID",
    "CREATE TABLE object_object (ocel_source_id TEXT NOT NULL REFERENCES object (ocel_id),"
    " ocel_target_id TEXT NOT NULL REFERENCES object (ocel_id), ocel_qualifier TEXT NOT NULL,"
    " PRIMARY KEY (ocel_source_id, ocel_target_id, ocel_qualifier)) WITHOUT ROWID",
)
BATCH = 20_000


@dataclass
class EventTable:
    """One ``event_<type>`` table being filled; its columns grow as attributes appear."""

    name: str
    columns: dict[str, str]  # attribute -> the OCEL type its column was declared with
    rows: list[tuple[str, str, dict[str, Scalar]]]


def event_table_ddl(name: str, columns: dict[str, str]) -> str:
    typed = "".join(f", {quote(n)} {SQL_TYPES[t]}" for n, t in columns.items())
    return (
        f"CREATE TABLE {quote(name)} (ocel_id TEXT PRIMARY KEY REFERENCES event (ocel_id),"
        f" ocel_time TIMESTAMP NOT NULL{typed}) WITHOUT ROWID"
    )


class SqliteWriter:
    def __init__(self, path: Path, builder: OcelBuilder) -> None:
        path.unlink(missing_ok=True)
        self.builder = builder
        self.conn = sqlite3.connect(path)
        self.conn.execute("PRAGMA journal_mode = OFF")
        self.conn.execute("PRAGMA synchronous = OFF")
        self.conn.execute("PRAGMA cache_size = -200000")
        for ddl in CORE_DDL:
            self.conn.execute(ddl)
        self.namer = TypeNamer()
        self.tables: dict[str, EventTable] = {}
        self.events: list[tuple[str, str]] = []
        self.links: list[tuple[str, str, str]] = []
        self.pending = 0

    def event(self, record: Record) -> None:
        table = self.tables.get(record.type)
        if table is None:
            name = f"event_{self.namer(record.type)}"
            table = self.tables[record.type] = EventTable(name, {}, [])
            self.conn.execute(event_table_ddl(name, {}))
        table.rows.append((record.id, sql_time(record.time), dict(record.attrs)))
        self.events.append((record.id, record.type))
        self.links.extend([(record.id, oid, qualifier) for oid, qualifier in record.rel])
        self.pending += 1
        if self.pending >= BATCH:
            self.flush()

    def flush(self) -> None:
        for kind, table in self.tables.items():
            self._flush_table(table, self.builder.event_types.get(kind, {}))
        self.conn.executemany("INSERT INTO event VALUES (?, ?)", self.events)
        self.conn.executemany("INSERT OR IGNORE INTO event_object VALUES (?, ?, ?)", self.links)
        self.events, self.links, self.pending = [], [], 0

    def _flush_table(self, table: EventTable, declared: dict[str, str]) -> None:
        if not table.rows:
            return
        for name, kind in declared.items():
            if name not in table.columns:
                table.columns[name] = kind
                self.conn.execute(
                    f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(name)} {SQL_TYPES[kind]}"
                )
        names = list(table.columns)
        columns = "".join(f", {quote(n)}" for n in names)
        marks = ", ".join("?" * (len(names) + 2))
        self.conn.executemany(
            f"INSERT INTO {quote(table.name)} (ocel_id, ocel_time{columns}) VALUES ({marks})",
            [(oid, when, *map(attrs.get, names)) for oid, when, attrs in table.rows],
        )
        table.rows = []

    def finish(self, builder: OcelBuilder) -> None:
        self.flush()
        self.conn.executemany(
            "INSERT INTO event_map_type VALUES (?, ?)", list(self.namer.names.items())
        )
        for kind, table in self.tables.items():
            declared = builder.event_types.get(kind, {})
            if any(table.columns.get(n) != t for n, t in declared.items()):
                self._retype(table, declared)
        self._objects(builder)
        self.conn.commit()

    def _retype(self, table: EventTable, declared: dict[str, str]) -> None:
        """Rebuild a table whose attributes turned out to have a wider type than their
        column was declared with (an integer amount, then a decimal one)."""
        staging = quote(table.name + "__old")
        self.conn.execute(f"ALTER TABLE {quote(table.name)} RENAME TO {staging}")
        self.conn.execute(event_table_ddl(table.name, declared))
        names = "ocel_id, ocel_time" + "".join(f", {quote(n)}" for n in declared)
        target = quote(table.name)
        self.conn.execute(f"INSERT INTO {target} ({names}) SELECT {names} FROM {staging}")
        self.conn.execute(f"DROP TABLE {staging}")
        table.columns = dict(declared)

    def _objects(self, builder: OcelBuilder) -> None:
        declared = builder.object_types()
        for obj in builder.objects.values():
            declared.setdefault(obj.type, {})
        mapped = type_map(declared)
        self.conn.executemany("INSERT INTO object_map_type VALUES (?, ?)", mapped.items())
        objects = sorted(builder.objects.values(), key=lambda o: o.type)
        rows = ((o.oid, o.type) for o in objects)
        self.conn.executemany("INSERT INTO object VALUES (?, ?)", rows)
        self.conn.executemany(
            "INSERT OR IGNORE INTO object_object VALUES (?, ?, ?)",
            ((o.oid, target, q) for o in objects for target, q in o.rel),
        )
        for kind, attrs in declared.items():
            names = list(attrs)
            columns = "".join(f", {quote(n)} {SQL_TYPES[t]}" for n, t in attrs.items())
            table = quote(f"object_{mapped[kind]}")
            self.conn.execute(
                f"CREATE TABLE {table} (ocel_id TEXT NOT NULL REFERENCES object (ocel_id),"
                f" ocel_time TIMESTAMP NOT NULL{columns}, ocel_changed_field TEXT)"
            )
            marks = ", ".join("?" * (len(names) + 3))
            self.conn.executemany(
                f"INSERT INTO {table} VALUES ({marks})",
                (row for o in objects if o.type == kind for row in _object_rows(o, names)),
            )

    def close(self) -> None:
        self.conn.close()


def _object_rows(obj: Obj, names: list[str]) -> Iterable[tuple[Any, ...]]:
    """The initial row (each attribute's first value, at the epoch), then one row per
    later change."""
    first = {name: history[0][1] for name, history in obj.attrs.items()}
    yield (obj.oid, EPOCH, *(first.get(n) for n in names), None)
    changes = sorted(
        (when, name, value) for name, history in obj.attrs.items() for when, value in history[1:]
    )
    for when, name, value in changes:
        yield (obj.oid, sql_time(when), *(value if n == name else None for n in names), name)


# --- the export ------------------------------------------------------------------------


@dataclass
class ExportReport:
    format: str
    events: int
    objects: int
    e2o: int
    o2o: int
    duplicates: int
    skipped: int
    cases: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["events_per_second"] = round(self.events_per_second)
        return out


def export_ocel(
    events: Iterable[Any],
    out: Path,
    fmt: str | None = None,
    cases: Iterable[dict[str, Any]] | None = None,
) -> ExportReport:
    """Write the raw CloudEvents of ``events`` (any iterable, read once) as OCEL 2.0."""
    flavour = format_for(out, fmt)
    started = time.perf_counter()
    builder = OcelBuilder(cases)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer: Writer
    try:
        writer = JsonWriter(out) if flavour == "json" else SqliteWriter(out, builder)
    except (OSError, sqlite3.Error) as exc:
        raise ExportError(f"{out}: cannot write: {exc}") from None
    count = e2o = 0
    try:
        for raw in events:
            record = builder.add(raw)
            if record is not None:
                writer.event(record)
                count += 1
                e2o += len(record.rel)
        builder.finish_cases()
        writer.finish(builder)
    except (OSError, sqlite3.Error) as exc:
        raise ExportError(f"{out}: cannot write: {exc}") from None
    finally:
        writer.close()
    o2o = sum(len(o.rel) for o in builder.objects.values())
    return ExportReport(flavour, count, len(builder.objects), e2o, o2o, builder.duplicates,
                        builder.skipped, len(builder.cases),
                        time.perf_counter() - started)  # fmt: skip
