"""The twin: a discrete-event simulation of a distributor that injects faults and records
the ground truth (see docs/twin.md)."""

from unsnag.twin.config import FAULT_KINDS, NATURAL_FAULTS, TwinConfig, load_config
from unsnag.twin.runner import run_twin, simulate
from unsnag.twin.sim import Simulation

__all__ = [
    "FAULT_KINDS",
    "NATURAL_FAULTS",
    "Simulation",
    "TwinConfig",
    "load_config",
    "run_twin",
    "simulate",
]
