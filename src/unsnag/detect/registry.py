"""Finds the built-in detectors: one module per detector in ``unsnag.detect.detectors``.

Each module exposes ``DETECTOR``, a :class:`~unsnag.detect.base.Detector` subclass.
Discovery keeps adding a detector a one-file change.
"""

from __future__ import annotations

import importlib
import pkgutil

from unsnag.detect import detectors as package
from unsnag.detect.base import Detector


def detector_classes() -> list[type[Detector]]:
    found: list[type[Detector]] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        cls = getattr(module, "DETECTOR", None)
        if cls is not None:
            found.append(cls)
    return found
