"""Split a problem into independent pieces and solve them one by one (or in parallel).

Two lines interact only through stock they could both take: a pool of their SKU or an
accepted substitute, or a node's shipping capacity. Union-find over SKUs — joining a
line's SKU with every SKU it may take and with every capped node it may ship from —
gives the connected components; no component can change another's best plan, so their
optima add up to the whole problem's. Small pieces also let HiGHS finish each LP in
milliseconds where the whole transportation LP would take seconds.

Solving runs in two rounds under one deadline: first every piece gets its LP bound and
a dived plan; then branch and bound goes, largest absolute gap first, to as few pieces
as it takes to bring the *total* gap under ``mip_rel_gap``.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

import numpy as np

from unsnag.allocate.arcs import Compiled, Ints
from unsnag.allocate.milp import PartResult, refine, relax
from unsnag.allocate.part import Part

T = TypeVar("T")


class UnionFind:
    """Disjoint sets over ``0..n-1`` with path halving and union by size."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, a: int) -> int:
        parent = self.parent
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]


def _links(compiled: Compiled) -> Ints:
    """Distinct (SKU, SKU or capped node) pairs that tie two SKUs' lines together."""
    n_skus = len(compiled.skus)
    own = compiled.line_sku[compiled.arc_line]
    other = compiled.pools.sku[compiled.arc_pool]
    node = compiled.pools.node[compiled.arc_pool]
    capped = np.isfinite(compiled.capacity[node])
    pairs = np.concatenate(
        [np.stack([own, other], axis=1)[own != other],
         np.stack([own[capped], n_skus + node[capped]], axis=1)]
    )  # fmt: skip
    return np.unique(pairs, axis=0) if len(pairs) else pairs


def components(compiled: Compiled) -> list[Ints]:
    """Groups of line indices (ascending) that share nothing across groups. Lines with
    no arc at all are left out: there is nothing to decide for them."""
    n_skus = len(compiled.skus)
    sets = UnionFind(n_skus + len(compiled.nodes))
    for a, b in _links(compiled).tolist():
        sets.union(a, b)
    roots = np.array([sets.find(s) for s in range(n_skus)], dtype=np.int64)
    lines = np.flatnonzero(np.diff(compiled.line_start) > 0)
    if not len(lines):
        return []
    keys = roots[compiled.line_sku[lines]]
    order = np.argsort(keys, kind="stable")
    cuts = np.flatnonzero(np.diff(keys[order])) + 1
    return [np.sort(group) for group in np.split(lines[order], cuts)]


def _relax_batch(batch: tuple[list[Part], float, float]) -> list[PartResult | None]:
    """Round one over some parts, in a worker or here; ``None`` once time is up."""
    parts, seconds, gap = batch
    deadline = time.perf_counter() + seconds
    out: list[PartResult | None] = []
    for part in parts:
        left = deadline - time.perf_counter()
        out.append(relax(part, left, gap) if left > 0 else None)
    return out


def _refine_batch(
    batch: tuple[list[tuple[Part, PartResult]], float, float],
) -> list[PartResult | None]:
    pairs, seconds, gap = batch
    deadline = time.perf_counter() + seconds
    out: list[PartResult | None] = []
    for part, start in pairs:
        left = deadline - time.perf_counter()
        out.append(refine(part, start, left, gap) if left > 0 else None)
    return out


def _map(
    fn: Callable[[tuple[list[T], float, float]], list[PartResult | None]],
    items: Sequence[T],
    sizes: Sequence[int],
    seconds: float,
    gap: float,
    workers: int,
) -> list[PartResult | None]:
    """Run ``fn`` over ``items`` in ``workers`` processes (1: in this one), in batches
    of about equal size, keeping the order."""
    if workers <= 1 or len(items) < 2:
        return fn((list(items), seconds, gap))
    batches = _balanced(sizes, workers * 4)
    context = multiprocessing.get_context("spawn")  # a fork would copy HiGHS thread state
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        jobs = [([items[i] for i in b], seconds, gap) for b in batches]
        out: list[PartResult | None] = [None] * len(items)
        for b, results in zip(batches, pool.map(fn, jobs), strict=True):
            for i, result in zip(b, results, strict=True):
                out[i] = result
    return out


def _balanced(sizes: Sequence[int], count: int) -> list[list[int]]:
    """Greedy bin packing: largest first into the lightest batch."""
    batches: list[list[int]] = [[] for _ in range(min(count, len(sizes)))]
    load = [0] * len(batches)
    for i in sorted(range(len(sizes)), key=lambda k: -sizes[k]):
        lightest = load.index(min(load))
        batches[lightest].append(i)
        load[lightest] += sizes[i] + 1
    return [sorted(b) for b in batches if b]


def solve_parts(
    parts: list[Part], time_limit: float, mip_rel_gap: float, workers: int = 1
) -> list[PartResult | None]:
    """Both rounds; ``None`` for a part the deadline left unsolved."""
    started = time.perf_counter()
    sizes = [len(p.arc_net) for p in parts]
    results = _map(_relax_batch, parts, sizes, time_limit, mip_rel_gap, workers)
    chosen = _to_refine(results, mip_rel_gap)
    left = time_limit - (time.perf_counter() - started)
    if chosen and left > 0:
        pairs = [(parts[i], r) for i in chosen if (r := results[i]) is not None]
        better = _map(_refine_batch, pairs, [sizes[i] for i in chosen], left, mip_rel_gap, workers)
        for i, result in zip(chosen, better, strict=True):
            if result is not None:
                results[i] = result
    return results


def _to_refine(results: list[PartResult | None], mip_rel_gap: float) -> list[int]:
    """The fewest parts, widest absolute gap first, whose closing brings the total gap
    within ``mip_rel_gap`` of the total bound."""
    done = [r for r in results if r is not None and np.isfinite(r.objective)]
    bound = sum(r.bound for r in done)
    excess = sum(r.abs_gap for r in done) - mip_rel_gap * max(abs(bound), 1.0)
    solved = [
        (r.abs_gap, i)
        for i, r in enumerate(results)
        if r is not None and np.isfinite(r.objective) and len(r.columns)
    ]
    chosen = []
    for gap, i in sorted(solved, reverse=True):
        if excess <= 0 or gap <= 0:
            break
        chosen.append(i)
        excess -= gap
    return chosen
