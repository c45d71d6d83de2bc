"""Declarative mappings from an OCEL 2.0 log to canonical events (docs/ocel.md).

A mapping says, per OCEL activity, which canonical events to emit and where each field
comes from. Fields are *values*: a constant, or one of

- ``{id: PATH}`` / ``{ids: PATH}`` — the id of the first object on PATH / all their ids;
- ``{attr: NAME}`` — an attribute of the OCEL event; ``{attr: NAME, of: PATH}`` — an
  attribute of the first object on PATH, as it stood at the event's time;
- ``{ocel: id | activity | time}`` — the OCEL event's own id, activity or time
  (``add_days`` shifts a time: a due date 15 days after the event);
- ``{format: "{}/{}", args: [VALUE, ...]}`` — text built from other values;
- ``{for_each: PATH, fields: {...}}`` — a list with one entry per object on PATH
  (``in_event: true`` keeps only the objects the event itself relates to);
- ``{attributes: all}`` — every attribute of the event as a dict (attributes named
  ``x:json`` are decoded JSON), optionally only those under a ``prefix``.

A PATH walks the object graph: it starts at the objects of one type the event relates to
(``items``, or ``packages[shipped package]`` to require a qualifier) or at ``.``, the
object of the enclosing ``for_each``; ``>type`` follows object-to-object relations
forward, ``<type`` backward (``items<orders``: the orders that comprise the items).
``*`` stands for any type. Everything is validated on load, with the offending place
named in the error.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from unsnag.errors import UnsnagError

SHIPPED = "mappings"
"""Package folder (``unsnag.intel``) holding the shipped mappings, one ``NAME.yaml`` each."""

ANY_ACTIVITY = "*"


class MappingError(UnsnagError):
    """An OCEL mapping file is missing, malformed or inconsistent."""

    title = "invalid OCEL mapping"


# --- paths -------------------------------------------------------------------------

_STEP = re.compile(r"^\s*(?P<type>[^\[\]<>]+?)\s*(?:\[(?P<qualifier>[^\[\]<>]*)\])?\s*$")


Step = tuple[str, str, str | None]
"""(direction, object type or ``*``, qualifier or None); direction is ``e2o`` for the
first step from the event, ``.`` for the current object, ``>`` or ``<`` after that."""


@lru_cache(maxsize=512)
def parse_path(text: str) -> tuple[Step, ...]:
    """``items>products`` -> ``(("e2o", "items", None), (">", "products", None))``."""
    parts = re.split(r"([<>])", text)
    head = parts[0].strip()
    steps: list[Step] = []
    if head == ".":
        steps.append((".", "*", None))
    else:
        steps.append(("e2o", *_type_spec(head, text)))
    for direction, spec in zip(parts[1::2], parts[2::2], strict=True):
        steps.append((direction, *_type_spec(spec, text)))
    return tuple(steps)


def _type_spec(spec: str, path: str) -> tuple[str, str | None]:
    match = _STEP.match(spec)
    if match is None:
        raise ValueError(
            f"bad path {path!r}: {spec.strip()!r} is not TYPE or TYPE[qualifier] "
            "(e.g. items, packages[shipped package], items<orders, .>products)"
        )
    return match["type"], match["qualifier"]


def _valid_path(text: str) -> str:
    parse_path(text)
    return text


PathText = Annotated[str, Field(min_length=1), AfterValidator(_valid_path)]


def path_types(text: str) -> set[str]:
    return {kind for _, kind, _ in parse_path(text) if kind != "*"}


# --- values --------------------------------------------------------------------------


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Scalar = str | bool | int | float


class Const(Strict):
    const: Scalar


class IdOf(Strict):
    id: PathText


class IdsOf(Strict):
    ids: PathText


class AttrOf(Strict):
    attr: str = Field(min_length=1)
    of: PathText | None = None


class OcelOf(Strict):
    ocel: Literal["id", "activity", "time"]
    add_days: float = 0.0

    @model_validator(mode="after")
    def _days_need_time(self) -> OcelOf:
        if self.add_days and self.ocel != "time":
            raise ValueError("add_days only applies to {ocel: time}")
        return self


class Format(Strict):
    format: str
    args: list[Value] = Field(default_factory=list)


class ForEach(Strict):
    for_each: PathText
    in_event: bool = False
    fields: dict[str, Value] = Field(min_length=1)


class Attributes(Strict):
    attributes: Literal["all"]
    prefix: str = ""
    exclude_prefix: str | None = None


_HEADS: dict[str, type[Strict]] = {
    "const": Const,
    "id": IdOf,
    "ids": IdsOf,
    "attr": AttrOf,
    "ocel": OcelOf,
    "format": Format,
    "for_each": ForEach,
    "attributes": Attributes,
}
_SHAPES = ", ".join(f"{{{head}: ...}}" for head in _HEADS)


def _dispatch(raw: Any) -> Any:
    """A bare scalar is a constant; a mapping is the value kind its one head key names."""
    if isinstance(raw, Strict):
        return raw
    if isinstance(raw, str | bool | int | float):
        return Const(const=raw)
    if isinstance(raw, dict):
        heads = [key for key in raw if key in _HEADS]
        if len(heads) == 1:
            return _HEADS[heads[0]].model_validate(raw)
        found = ", ".join(map(str, raw)) or "none"
        raise ValueError(f"a value is a constant or exactly one of {_SHAPES}; got keys {found}")
    raise ValueError(f"a value is a constant or a mapping, not {type(raw).__name__}")


Value = Annotated[
    Const | IdOf | IdsOf | AttrOf | OcelOf | Format | ForEach | Attributes,
    BeforeValidator(_dispatch),
]
Format.model_rebuild()
ForEach.model_rebuild()


# --- emissions and the mapping ---------------------------------------------------------

_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class Emit(Strict):
    """One canonical event to emit for an OCEL event (or one per object of ``for_each``)."""

    type: Value = Field(description="Canonical event type, e.g. order.created.")
    source: Value | None = Field(None, description="CloudEvent source (default: mapping's).")
    id: Value | None = Field(None, description="CloudEvent id (default: from the OCEL id).")
    subject: Value | None = None
    for_each: PathText | None = Field(
        None, description="Emit one event per object on this path; '.' is that object."
    )
    envelope_from: Value | None = Field(
        None, description="A value giving a dict of further envelope attributes."
    )
    data_from: Value | None = Field(None, description="A value giving a dict of data fields.")
    data: dict[str, Value] = Field(
        default_factory=dict, description="Data fields (dotted names nest: ship_to.city)."
    )

    @model_validator(mode="after")
    def _check(self) -> Emit:
        if isinstance(self.type, Const) and not (
            isinstance(self.type.const, str) and _EVENT_TYPE.match(self.type.const)
        ):
            raise ValueError(f"type {self.type.const!r} is not an event type like order.created")
        if not self.data and self.data_from is None:
            raise ValueError("give data fields (data) or a data_from value")
        return self

    def paths(self) -> list[str]:
        values: list[Any] = [self.type, self.source, self.id, self.subject]
        values += [self.envelope_from, self.data_from, *self.data.values()]
        found = [self.for_each] if self.for_each else []
        for value in values:
            found.extend(_value_paths(value))
        return found


def _value_paths(value: Any) -> list[str]:
    if isinstance(value, IdOf):
        return [value.id]
    if isinstance(value, IdsOf):
        return [value.ids]
    if isinstance(value, AttrOf):
        return [value.of] if value.of else []
    if isinstance(value, Format):
        return [p for arg in value.args for p in _value_paths(arg)]
    if isinstance(value, ForEach):
        return [value.for_each, *(p for v in value.fields.values() for p in _value_paths(v))]
    return []


class Mapping(Strict):
    """A whole mapping file."""

    version: Literal[1] = 1
    name: str = Field(min_length=1)
    description: str = ""
    source: Value = Field(description="CloudEvent source when an emission gives none.")
    object_types: dict[str, str] = Field(
        default_factory=dict,
        description="OCEL object type -> what it is in unsnag; when given, paths may "
        "only name these types.",
    )
    ignore: list[str] = Field(
        default_factory=list, description="Activities dropped on purpose (not dead letters)."
    )
    activities: dict[str, list[Emit]] = Field(
        min_length=1, description="OCEL activity (or '*' for any other) -> what to emit."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Mapping:
        both = sorted(set(self.ignore) & set(self.activities))
        if both:
            raise ValueError(f"ignore: {both} are also mapped under activities")
        for activity, emits in self.activities.items():
            if not emits:
                raise ValueError(f"activities.{activity}: emits nothing; list it under ignore")
            if self.object_types:
                for index, emit in enumerate(emits):
                    self._check_types(f"activities.{activity}.{index}", emit)
        return self

    def _check_types(self, where: str, emit: Emit) -> None:
        for path in emit.paths():
            unknown = sorted(path_types(path) - set(self.object_types))
            if unknown:
                raise ValueError(
                    f"{where}: path {path!r} names object type(s) {unknown} not in "
                    f"object_types ({', '.join(sorted(self.object_types))})"
                )

    def rules_for(self, activity: str) -> list[Emit] | None:
        return self.activities.get(activity) or self.activities.get(ANY_ACTIVITY)


# --- loading ---------------------------------------------------------------------------


def _format(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"] if not _is_union_tag(part))
        lines.append(f"{loc or '(top level)'}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(dict.fromkeys(lines))


def _is_union_tag(part: Any) -> bool:
    """Pydantic names union members in error locations (``function-before[...]``)."""
    return isinstance(part, str) and ("[" in part or part in _UNION_NAMES)


_UNION_NAMES = {cls.__name__ for cls in _HEADS.values()}


def shipped_mappings() -> list[str]:
    folder = resources.files("unsnag.intel").joinpath(SHIPPED)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def mapping_from_data(data: Any, origin: str) -> Mapping:
    if not isinstance(data, dict):
        raise MappingError(f"{origin}: a mapping is a YAML mapping at the top level")
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        raise MappingError(f"{origin}: {_format(exc)}") from None


def load_mapping(name_or_path: str | Path) -> Mapping:
    """A mapping file, or the shipped mapping of that name (``order-management``)."""
    path = Path(name_or_path)
    if path.is_file():
        origin = str(path)
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MappingError(f"{path}: cannot read: {exc}") from None
    else:
        shipped = shipped_mappings()
        if str(name_or_path) not in shipped:
            raise MappingError(
                f"{name_or_path}: no such mapping file, nor a shipped mapping of that name "
                f"(shipped: {', '.join(shipped)})"
            )
        origin = f"shipped mapping {name_or_path}"
        folder = resources.files("unsnag.intel").joinpath(SHIPPED)
        text = folder.joinpath(f"{name_or_path}.yaml").read_text("utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MappingError(f"{origin}: not valid YAML: {exc}") from None
    return mapping_from_data(data, origin)
