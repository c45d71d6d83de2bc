"""Read an OCEL 2.0 log — XML, JSON or SQLite flavour, optionally gzipped — into memory.

The flavour is recognised from the content (gzip, then ``<``, ``{`` or the SQLite header),
not trusted from the file name. XML is read with ``iterparse`` and each object and event
element is dropped once read, so a 15 MB log never sits in memory as a tree. Attribute
values are typed by the declared attribute types (``string``, ``time``, ``integer``,
``float``, ``boolean``); a time attribute is kept as RFC 3339 text in UTC. Anything that
is not an OCEL 2.0 log is refused with :class:`OcelError`, naming what is wrong.
"""

from __future__ import annotations

import gzip
import sqlite3
import zlib
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import IO, Any, cast
from xml.etree.ElementTree import Element, ParseError, iterparse

import orjson

from unsnag.errors import UnsnagError

AttrValue = str | int | float | bool
TYPES = ("string", "time", "integer", "float", "boolean")


class OcelError(UnsnagError):
    """A file is not a readable OCEL 2.0 log."""

    title = "invalid OCEL log"


@dataclass(slots=True)
class OcelObject:
    id: str
    type: str
    attrs: dict[str, list[tuple[datetime, AttrValue]]] = field(default_factory=dict)
    """Attribute -> its values over time, oldest first."""
    rel: list[tuple[str, str]] = field(default_factory=list)
    """Object-to-object relations: (target id, qualifier)."""

    def attr_at(self, name: str, moment: datetime) -> AttrValue | None:
        """The value in force at ``moment``; before the first one, the first one."""
        history = self.attrs.get(name)
        if not history:
            return None
        index = bisect_right(history, moment, key=lambda item: item[0])
        return history[max(index - 1, 0)][1]


@dataclass(slots=True)
class OcelEvent:
    id: str
    type: str
    time: datetime
    attrs: dict[str, AttrValue] = field(default_factory=dict)
    rel: list[tuple[str, str]] = field(default_factory=list)
    """Event-to-object relations: (object id, qualifier)."""


@dataclass
class OcelLog:
    event_types: dict[str, dict[str, str]] = field(default_factory=dict)
    object_types: dict[str, dict[str, str]] = field(default_factory=dict)
    objects: dict[str, OcelObject] = field(default_factory=dict)
    events: list[OcelEvent] = field(default_factory=list)
    flavour: str = ""

    @cached_property
    def reverse(self) -> dict[str, list[tuple[str, str]]]:
        """Object id -> the (source id, qualifier) of relations pointing at it."""
        index: dict[str, list[tuple[str, str]]] = {}
        for obj in self.objects.values():
            for target, qualifier in obj.rel:
                index.setdefault(target, []).append((obj.id, qualifier))
        return index

    def finish(self) -> OcelLog:
        for obj in self.objects.values():
            for history in obj.attrs.values():
                history.sort(key=lambda item: item[0])
        return self


# --- values ----------------------------------------------------------------------------


def parse_time(text: str) -> datetime:
    """An ISO 8601 / RFC 3339 instant (``Z``, offsets, a space for ``T``); naive is UTC."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC with ``Z``; fractions only when there are any."""
    text = moment.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def typed(value: Any, kind: str | None) -> AttrValue:
    """A declared-type attribute value from text (or a native JSON/SQL value)."""
    if value is None or kind in (None, "string"):
        return value if isinstance(value, str | int | float | bool) else str(value)
    try:
        if kind == "integer":
            return value if isinstance(value, int) and not isinstance(value, bool) else int(value)
        if kind == "float":
            return float(value)
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            return str(value).strip().lower() in ("true", "1", "yes")
        if kind == "time":
            return iso(parse_time(str(value)))
    except (TypeError, ValueError):
        pass  # a malformed value stays as the log wrote it rather than failing the log
    return value if isinstance(value, str | int | float | bool) else str(value)


# --- flavour detection ------------------------------------------------------------------

SQLITE_MAGIC = b"SQLite format 3\x00"


def _open(path: Path) -> IO[bytes]:
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    return cast(IO[bytes], gzip.open(path, "rb")) if gzipped else path.open("rb")


def sniff(path: Path) -> str:
    """``xml``, ``json`` or ``sqlite``, from the first bytes of the (unzipped) file."""
    if not path.is_file():
        raise OcelError(f"{path}: no such file")
    try:
        with _open(path) as handle:
            head = handle.read(64)
    except (OSError, EOFError, zlib.error) as exc:
        raise OcelError(f"{path}: cannot read: {exc}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return "xml"
    if text.startswith(b"{"):
        return "json"
    raise OcelError(f"{path}: not an OCEL 2.0 log (expected the XML, JSON or SQLite flavour)")


def read_ocel(path: Path) -> OcelLog:
    """Read any flavour of OCEL 2.0 log."""
    flavour = sniff(path)
    if flavour == "sqlite":
        log = read_sqlite(path)
    elif flavour == "json":
        log = read_json(path)
    else:
        log = read_xml(path)
    log.flavour = flavour
    return log.finish()


# --- XML -------------------------------------------------------------------------------


def _declared(element: Element) -> dict[str, str]:
    return {
        attr.get("name", ""): attr.get("type", "string")
        for attr in element.iter("attribute")
        if attr.get("name")
    }


def _relations(element: Element | None) -> list[tuple[str, str]]:
    if element is None:
        return []
    return [
        (child.get("object-id", ""), child.get("qualifier") or "")
        for child in element
        if child.get("object-id")
    ]


def _xml_object(element: Element, log: OcelLog) -> None:
    oid, kind = element.get("id"), element.get("type")
    if not oid or not kind:
        raise OcelError("an <object> lacks its id or type")
    declared = log.object_types.get(kind, {})
    obj = OcelObject(oid, kind, rel=_relations(element.find("objects")))
    for attr in element.findall("attributes/attribute"):
        name = attr.get("name") or ""
        moment = parse_time(attr.get("time") or "1970-01-01T00:00:00Z")
        value = typed(attr.text or "", declared.get(name))
        obj.attrs.setdefault(name, []).append((moment, value))
    log.objects[oid] = obj


def _xml_event(element: Element, log: OcelLog) -> None:
    eid, kind, when = element.get("id"), element.get("type"), element.get("time")
    if not eid or not kind or not when:
        raise OcelError(f"an <event> lacks its id, type or time (id {eid!r})")
    declared = log.event_types.get(kind, {})
    attrs = {
        a.get("name") or "": typed(a.text or "", declared.get(a.get("name") or ""))
        for a in element.findall("attributes/attribute")
    }
    log.events.append(
        OcelEvent(eid, kind, parse_time(when), attrs, _relations(element.find("objects")))
    )


def read_xml(path: Path) -> OcelLog:
    log = OcelLog()
    try:
        with _open(path) as handle:
            parser = iterparse(handle, events=("end",))
            for _, element in parser:
                _xml_end(element, log)
            root = parser.root  # type: ignore[attr-defined]
    except ParseError as exc:
        raise OcelError(f"{path}: not well-formed XML ({exc})") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise OcelError(f"{path}: cannot read: {exc}") from None
    except ValueError as exc:
        raise OcelError(f"{path}: {exc}") from None
    if root is None or root.tag != "log":
        tag = "none" if root is None else f"<{root.tag}>"
        raise OcelError(f"{path}: not an OCEL 2.0 XML log (root element {tag}, expected <log>)")
    if not log.events and not log.objects and not (log.event_types or log.object_types):
        raise OcelError(f"{path}: an empty OCEL log (no types, objects or events)")
    return log


def _xml_end(element: Element, log: OcelLog) -> None:
    """Top-level objects carry ``id`` (a related object inside one carries ``object-id``);
    events, object types and event types only occur in their own sections."""
    tag = element.tag
    if tag == "relationship" or tag == "attribute":
        return
    if tag == "event":
        _xml_event(element, log)
        element.clear()
    elif tag == "object" and element.get("id") is not None:
        _xml_object(element, log)
        element.clear()
    elif tag == "object-type":
        log.object_types[element.get("name", "")] = _declared(element)
    elif tag == "event-type":
        log.event_types[element.get("name", "")] = _declared(element)


# --- JSON ------------------------------------------------------------------------------

JSON_KEYS = ("eventTypes", "objectTypes", "events", "objects")


def _json_types(items: Any, where: str) -> dict[str, dict[str, str]]:
    if not isinstance(items, list):
        raise OcelError(f"{where} is not a list")
    types: dict[str, dict[str, str]] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise OcelError(f"{where}: every entry needs a name")
        attrs = item.get("attributes") or []
        types[item["name"]] = {
            a["name"]: str(a.get("type") or "string")
            for a in attrs
            if isinstance(a, dict) and isinstance(a.get("name"), str)
        }
    return types


def _json_relations(items: Any) -> list[tuple[str, str]]:
    return [
        (str(r["objectId"]), str(r.get("qualifier") or ""))
        for r in items or []
        if isinstance(r, dict) and r.get("objectId") is not None
    ]


def read_json(path: Path) -> OcelLog:
    try:
        with _open(path) as handle:
            document = orjson.loads(handle.read())
    except orjson.JSONDecodeError as exc:
        raise OcelError(f"{path}: not valid JSON ({exc})") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise OcelError(f"{path}: cannot read: {exc}") from None
    if not isinstance(document, dict):
        raise OcelError(f"{path}: not an OCEL 2.0 JSON log (the top level is not an object)")
    if "ocel:events" in document or "ocel:global-log" in document:
        raise OcelError(f"{path}: an OCEL 1.0 JSON log; only OCEL 2.0 is read")
    missing = [key for key in JSON_KEYS if key not in document]
    if missing:
        raise OcelError(f"{path}: not an OCEL 2.0 JSON log (missing {', '.join(missing)})")
    log = OcelLog(
        event_types=_json_types(document["eventTypes"], "eventTypes"),
        object_types=_json_types(document["objectTypes"], "objectTypes"),
    )
    try:
        for item in document["objects"]:
            _json_object(item, log)
        for item in document["events"]:
            _json_event(item, log)
    except (KeyError, TypeError, ValueError) as exc:
        raise OcelError(f"{path}: malformed OCEL 2.0 JSON ({type(exc).__name__}: {exc})") from None
    return log


def _json_object(item: dict[str, Any], log: OcelLog) -> None:
    oid, kind = str(item["id"]), str(item["type"])
    declared = log.object_types.get(kind, {})
    obj = OcelObject(oid, kind, rel=_json_relations(item.get("relationships")))
    for attr in item.get("attributes") or []:
        name = str(attr["name"])
        moment = parse_time(str(attr.get("time") or "1970-01-01T00:00:00Z"))
        obj.attrs.setdefault(name, []).append((moment, typed(attr["value"], declared.get(name))))
    log.objects[oid] = obj


def _json_event(item: dict[str, Any], log: OcelLog) -> None:
    kind = str(item["type"])
    declared = log.event_types.get(kind, {})
    attrs = {
        str(a["name"]): typed(a["value"], declared.get(str(a["name"])))
        for a in item.get("attributes") or []
        if a.get("value") is not None
    }
    log.events.append(
        OcelEvent(
            str(item["id"]),
            kind,
            parse_time(str(item["time"])),
            attrs,
            _json_relations(item.get("relationships")),
        )
    )


# --- SQLite ----------------------------------------------------------------------------

SQLITE_TABLES = ("event", "object", "event_object", "object_object", "event_map_type",
                 "object_map_type")  # fmt: skip
SQL_TYPES = {"TEXT": "string", "INTEGER": "integer", "REAL": "float", "FLOAT": "float",
             "DOUBLE": "float", "BOOLEAN": "boolean", "TIMESTAMP": "time",
             "DATETIME": "time"}  # fmt: skip
SPECIAL_COLUMNS = frozenset({"ocel_id", "ocel_time", "ocel_changed_field"})


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(conn: sqlite3.Connection, table: str) -> dict[str, str]:
    rows = conn.execute(f"PRAGMA table_info({quote(table)})").fetchall()
    return {
        row[1]: SQL_TYPES.get(str(row[2]).upper(), "string")
        for row in rows
        if row[1] not in SPECIAL_COLUMNS
    }


def read_sqlite(path: Path) -> OcelLog:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise OcelError(f"{path}: cannot open as SQLite: {exc}") from None
    try:
        return _read_sqlite(conn, path)
    except sqlite3.Error as exc:
        raise OcelError(f"{path}: not a readable OCEL 2.0 SQLite log ({exc})") from None
    finally:
        conn.close()


def _read_sqlite(conn: sqlite3.Connection, path: Path) -> OcelLog:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    missing = [table for table in SQLITE_TABLES if table not in tables]
    if missing:
        raise OcelError(f"{path}: not an OCEL 2.0 SQLite log (missing tables {', '.join(missing)})")
    log = OcelLog()
    for kind, mapped in conn.execute("SELECT ocel_type, ocel_type_map FROM object_map_type"):
        log.object_types[kind] = _columns(conn, f"object_{mapped}")
        _sqlite_objects(conn, log, kind, f"object_{mapped}")
    for source, target, qualifier in conn.execute("SELECT * FROM object_object"):
        if source in log.objects:
            log.objects[source].rel.append((str(target), qualifier or ""))
    relations: dict[str, list[tuple[str, str]]] = {}
    for event_id, object_id, qualifier in conn.execute(
        "SELECT ocel_event_id, ocel_object_id, ocel_qualifier FROM event_object"
    ):
        relations.setdefault(str(event_id), []).append((str(object_id), qualifier or ""))
    for kind, mapped in conn.execute("SELECT ocel_type, ocel_type_map FROM event_map_type"):
        log.event_types[kind] = _columns(conn, f"event_{mapped}")
        for event in _sqlite_events(conn, kind, f"event_{mapped}", log.event_types[kind]):
            event.rel = relations.get(event.id, [])
            log.events.append(event)
    return log


def _sqlite_objects(conn: sqlite3.Connection, log: OcelLog, kind: str, table: str) -> None:
    rows = conn.execute("SELECT ocel_id FROM object WHERE ocel_type = ?", (kind,))
    for (oid,) in rows:
        log.objects[str(oid)] = OcelObject(str(oid), kind)
    declared = log.object_types[kind]
    cursor = conn.execute(f"SELECT * FROM {quote(table)}")
    names = [column[0] for column in cursor.description]
    for row in cursor:
        record = dict(zip(names, row, strict=True))
        obj = log.objects.get(str(record["ocel_id"]))
        if obj is None:
            continue
        moment = parse_time(str(record.get("ocel_time") or "1970-01-01 00:00:00"))
        changed = record.get("ocel_changed_field")
        for name, kind_of in declared.items():
            if (changed is None or name == changed) and record.get(name) is not None:
                value = typed(record[name], kind_of)
                obj.attrs.setdefault(name, []).append((moment, value))


def _sqlite_events(
    conn: sqlite3.Connection, kind: str, table: str, declared: dict[str, str]
) -> Iterator[OcelEvent]:
    cursor = conn.execute(f"SELECT * FROM {quote(table)}")
    names = [column[0] for column in cursor.description]
    for row in cursor:
        record = dict(zip(names, row, strict=True))
        attrs = {
            name: typed(record[name], declared.get(name))
            for name in declared
            if record.get(name) is not None
        }
        yield OcelEvent(str(record["ocel_id"]), kind, parse_time(str(record["ocel_time"])), attrs)
