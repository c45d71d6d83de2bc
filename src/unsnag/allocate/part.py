"""A piece of a compiled problem — some lines, the pools their arcs reach, the nodes with
a capacity — renumbered from zero so that it can be solved (or shipped to a worker
process) on its own. The whole problem is the piece with every line."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unsnag.allocate.arcs import Bools, Compiled, Floats, Ints


@dataclass(frozen=True, slots=True)
class Part:
    lines: Ints
    """Global indices of the lines in this part."""
    arcs: Ints
    """Global indices of the arcs in this part (sorted by local line)."""
    need: Floats
    required: Floats
    ship_complete: Bools
    arc_line: Ints
    arc_pool: Ints
    arc_net: Floats
    arc_upper: Floats
    pool_qty: Floats
    arc_cap_row: Ints
    """Per arc, the capacity row of its node (``-1``: the node has no capacity)."""
    capacity: Floats

    @property
    def has_integers(self) -> bool:
        return bool((self.ship_complete & (self.need > 0)).any())


def make_part(compiled: Compiled, lines: Ints) -> Part:
    """Cut out ``lines`` (global indices, ascending) with their arcs and pools."""
    start, stop = compiled.line_start[lines], compiled.line_start[lines + 1]
    counts = stop - start
    arcs = np.repeat(start - (np.cumsum(counts) - counts), counts) + np.arange(int(counts.sum()))
    arc_line = np.repeat(np.arange(len(lines), dtype=np.int64), counts)
    pools, arc_pool = np.unique(compiled.arc_pool[arcs], return_inverse=True)
    pool_qty = compiled.pools.qty[pools]
    need = compiled.need[lines]
    node = compiled.pools.node[pools][arc_pool]
    capped = np.flatnonzero(np.isfinite(compiled.capacity))
    cap_row = np.full(len(compiled.nodes), -1, dtype=np.int64)
    used = np.intersect1d(capped, np.unique(node)) if len(capped) else capped
    cap_row[used] = np.arange(len(used))
    return Part(
        lines=lines,
        arcs=arcs.astype(np.int64),
        need=need,
        required=compiled.required[lines],
        ship_complete=compiled.ship_complete[lines],
        arc_line=arc_line,
        arc_pool=arc_pool.astype(np.int64),
        arc_net=compiled.arc_net[arcs],
        arc_upper=np.minimum(need[arc_line], pool_qty[arc_pool]),
        pool_qty=pool_qty,
        arc_cap_row=cap_row[node],
        capacity=compiled.capacity[used],
    )


def whole(compiled: Compiled) -> Part:
    return make_part(compiled, np.arange(compiled.n_lines, dtype=np.int64))
