"""Draw a process map as SVG, in plain Python (no graphviz).

The layout is layered, left to right. Activities are put in one linear order that keeps
most of the flow going forward (the greedy feedback-arc-set heuristic of Eades, Lin and
Smyth, weighted by edge frequency); each goes in the layer after its furthest forward
predecessor; within a layer, the more frequent activity goes higher. Forward edges are
cubic curves from right to left sides; edges back against the order arc under the boxes;
an activity that follows itself gets a loop above its box. Stroke width grows with the
edge's frequency; each edge is labelled ``n · median``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

BOX_W, BOX_H = 190, 46
LAYER_GAP, ROW_GAP = 120, 34
MARGIN, TITLE_H = 40, 64
MAX_STROKE, MIN_STROKE = 12.0, 1.2
FONT = "font-family='Helvetica, Arial, sans-serif'"


@dataclass(frozen=True, slots=True)
class Box:
    name: str
    x: float
    y: float
    frequency: int

    @property
    def right(self) -> tuple[float, float]:
        return self.x + BOX_W, self.y + BOX_H / 2

    @property
    def left(self) -> tuple[float, float]:
        return self.x, self.y + BOX_H / 2


def linear_order(nodes: Sequence[str], edges: Mapping[tuple[str, str], int]) -> list[str]:
    """Eades–Lin–Smyth: sinks to the back, sources to the front, else the node whose
    outgoing weight most exceeds its incoming weight; ties by the given node order."""
    rank = {name: i for i, name in enumerate(nodes)}
    out_w: dict[str, dict[str, int]] = defaultdict(dict)
    in_w: dict[str, dict[str, int]] = defaultdict(dict)
    for (src, dst), weight in edges.items():
        if src != dst:
            out_w[src][dst] = weight
            in_w[dst][src] = weight
    left = set(nodes)
    front: list[str] = []
    back: list[str] = []

    def drop(node: str) -> None:
        left.discard(node)
        for other in out_w.pop(node, {}):
            in_w[other].pop(node, None)
        for other in in_w.pop(node, {}):
            out_w[other].pop(node, None)

    while left:
        sinks = sorted((n for n in left if not out_w.get(n)), key=rank.__getitem__)
        if sinks:
            back.insert(0, sinks[-1])
            drop(sinks[-1])
            continue
        sources = sorted((n for n in left if not in_w.get(n)), key=rank.__getitem__)
        if sources:
            front.append(sources[0])
            drop(sources[0])
            continue
        best = max(
            left,
            key=lambda n: (sum(out_w[n].values()) - sum(in_w[n].values()), -rank[n]),
        )
        front.append(best)
        drop(best)
    return front + back


def layers(order: Sequence[str], edges: Mapping[tuple[str, str], int]) -> dict[str, int]:
    """Each activity's layer: one after its heaviest forward predecessor, so the main
    flow runs through adjacent layers and rare detours branch off below it."""
    position = {name: i for i, name in enumerate(order)}
    incoming: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for (src, dst), weight in edges.items():
        if src != dst and position[src] < position[dst]:
            incoming[dst].append((weight, -position[src], src))
    layer: dict[str, int] = {}
    for name in order:
        heaviest = max(incoming[name], default=None)
        layer[name] = 0 if heaviest is None else layer[heaviest[2]] + 1
    return layer


def place(graph: Mapping[str, Any]) -> dict[str, Box]:
    """Boxes for the activities of one DFG (see the module docstring)."""
    activities = graph["activities"]
    frequency = {a["activity"]: int(a["frequency"]) for a in activities}
    starts = {a["activity"]: int(a["starts"]) for a in activities}
    names = sorted(frequency, key=lambda n: (-starts[n], -frequency[n], n))
    edges = {(e["source"], e["target"]): int(e["frequency"]) for e in graph["edges"]}
    layer = layers(linear_order(names, edges), edges)
    columns: dict[int, list[str]] = defaultdict(list)
    for name in names:
        columns[layer[name]].append(name)
    boxes = {}
    for index, members in sorted(columns.items()):
        for row, name in enumerate(sorted(members, key=lambda n: (-frequency[n], n))):
            x = MARGIN + index * (BOX_W + LAYER_GAP)
            y = MARGIN + TITLE_H + row * (BOX_H + ROW_GAP)
            boxes[name] = Box(name, x, y, frequency[name])
    return boxes


def duration(seconds: float | None) -> str:
    """A median gap for a label: 0 s, 45 s, 12 min, 3.5 h, 2.1 d."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _stroke(frequency: int, biggest: int) -> float:
    return round(MIN_STROKE + (MAX_STROKE - MIN_STROKE) * frequency / max(biggest, 1), 2)


def _path(src: Box, dst: Box, floor: float) -> tuple[str, tuple[float, float]]:
    """The curve from ``src`` to ``dst`` and where its label goes. Edges between
    adjacent layers go side to side; others run under the boxes, at ``floor``."""
    if src.name == dst.name:  # a loop over the top of the box
        x, y = src.x + BOX_W / 2, src.y
        loop = f"C{x - 34:.1f},{y - 34:.1f} {x + 34:.1f},{y - 34:.1f}"
        return f"M{x - 18:.1f},{y:.1f} {loop} {x + 18:.1f},{y:.1f}", (x, y - 30)
    if 0 < dst.x - src.x <= BOX_W + LAYER_GAP:  # forward to the next layer
        (x1, y1), (x2, y2) = src.right, dst.left
        dx = (x2 - x1) / 2
        label = ((x1 + x2) / 2, (y1 + y2) / 2 - 6)
        curve = f"C{x1 + dx:.1f},{y1:.1f} {x2 - dx:.1f},{y2:.1f}"
        return f"M{x1:.1f},{y1:.1f} {curve} {x2:.1f},{y2:.1f}", label
    # down the gap after the source's layer, along under every box, up the gap before
    # the target's layer: long and backward edges never cross a box
    (x1, y1), (x2, y2) = src.right, dst.left
    bend, turn = LAYER_GAP * 0.3, LAYER_GAP * 0.45
    down = f"C{x1 + bend:.1f},{y1:.1f} {x1 + bend:.1f},{floor:.1f} {x1 + turn:.1f},{floor:.1f}"
    up = f"C{x2 - bend:.1f},{floor:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
    path = f"M{x1:.1f},{y1:.1f} {down} L{x2 - turn:.1f},{floor:.1f} {up}"
    return path, ((x1 + x2) / 2, floor - 4)


def _text(x: float, y: float, body: str, size: int = 11, extra: str = "") -> str:
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' {FONT} "
        f"text-anchor='middle'{extra}>{escape(body)}</text>"
    )


def render_dfg(graph: Mapping[str, Any], title: str | None = None) -> str:
    """One object type's directly-follows graph as an SVG document."""
    boxes = place(graph)
    edges = graph["edges"]
    biggest = max((int(e["frequency"]) for e in edges), default=1)
    width = max((b.x + BOX_W for b in boxes.values()), default=0) + LAYER_GAP / 2 + MARGIN
    bottom = max((b.y + BOX_H for b in boxes.values()), default=0)
    arcs = 0
    curves, labels = [], []
    for edge in sorted(edges, key=lambda e: (int(e["frequency"]), e["source"], e["target"])):
        src, dst = boxes[edge["source"]], boxes[edge["target"]]
        backward = src.name != dst.name and dst.x <= src.x
        arced = src.name != dst.name and not 0 < dst.x - src.x <= BOX_W + LAYER_GAP
        floor = bottom + 30 + 18 * arcs
        arcs += arced
        path, (lx, ly) = _path(src, dst, floor)
        tip = f"{edge['source']} → {edge['target']}"
        curves.append(
            f"<path d='{path}' fill='none' stroke='{'#c0702a' if backward else '#5b6b7b'}' "
            f"stroke-opacity='0.55' stroke-width='{_stroke(int(edge['frequency']), biggest)}' "
            f"marker-end='url(#arrow)'><title>{escape(tip)}</title></path>"
        )
        label = f"{int(edge['frequency']):,} · {duration(edge.get('median_s'))}"
        labels.append(_text(lx, ly, label, 10, " fill='#223'"))
    height = bottom + MARGIN + (30 + 18 * arcs if arcs else 0)
    nodes = []
    for box in boxes.values():
        nodes.append(
            f"<g class='activity'><rect x='{box.x:.1f}' y='{box.y:.1f}' width='{BOX_W}' "
            f"height='{BOX_H}' rx='8' fill='#eef3f8' stroke='#34495e' stroke-width='1.2'/>"
            + _text(box.x + BOX_W / 2, box.y + 19, box.name, 12, " font-weight='bold'")
            + _text(box.x + BOX_W / 2, box.y + 36, f"{box.frequency:,}", 11, " fill='#445'")
            + "</g>"
        )
    heading = title or (
        f"{graph['object_type']}: {graph['objects']:,} objects, {graph['events']:,} events"
    )
    return _document(width, height, heading, [*curves, *nodes, *labels])


def _document(width: float, height: float, heading: str, parts: Sequence[str]) -> str:
    defs = (
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='9' "
        "markerHeight='9' markerUnits='userSpaceOnUse' orient='auto-start-reverse'>"
        "<path d='M0,0 L10,5 L0,10 z' fill='#34495e'/></marker></defs>"
    )
    head = (
        f"<text x='{MARGIN}' y='{MARGIN + 10}' font-size='16' {FONT} font-weight='bold'>"
        f"{escape(heading)}</text>"
    )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' height='{height:.0f}' "
        f"viewBox='0 0 {width:.0f} {height:.0f}' role='img' aria-label={quoteattr(heading)}>"
        f"<rect width='100%' height='100%' fill='white'/>{defs}{head}"
        + "\n".join(parts)
        + "</svg>\n"
    )


PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac")  # fmt: skip
CHIP_W, CHIP_H, CHIP_GAP, ROW_H = 150, 24, 6, 34


def render_variants(variants: Mapping[str, Any], title: str | None = None) -> str:
    """The top variants, one row each: activity chips and the share of objects."""
    rows = variants["top"]
    names = sorted({name for row in rows for name in row["activities"]})
    colour = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    longest = max((len(row["activities"]) for row in rows), default=0)
    width = MARGIN * 2 + 150 + longest * (CHIP_W + CHIP_GAP)
    height = MARGIN * 2 + TITLE_H + len(rows) * ROW_H
    parts = []
    for i, row in enumerate(rows):
        y = MARGIN + TITLE_H + i * ROW_H
        share = f"{row['objects']:,} ({row['share']:.1%})"
        parts.append(
            f"<text x='{MARGIN + 140}' y='{y + 16}' font-size='11' {FONT} "
            f"text-anchor='end'>{escape(share)}</text>"
        )
        for j, name in enumerate(row["activities"]):
            x = MARGIN + 150 + j * (CHIP_W + CHIP_GAP)
            parts.append(
                f"<g class='step'><rect x='{x}' y='{y}' width='{CHIP_W}' height='{CHIP_H}' "
                f"rx='5' fill='{colour[name]}' fill-opacity='0.3' stroke='{colour[name]}'/>"
                + _text(x + CHIP_W / 2, y + 16, name, 10, " fill='#1b1b1b'")
                + "</g>"
            )
    heading = title or (
        f"Top {len(rows)} of {variants['distinct']:,} variants of {variants['objects']:,} "
        f"{variants['object_type']}s ({variants['top_share']:.1%} of them)"
    )
    return _document(width, height, heading, parts)
