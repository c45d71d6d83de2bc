"""The generated parts of the docs match the code."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_detector_table_in_the_policy_reference_is_current():
    gen = load_generator()
    text = (ROOT / "docs" / "policy.md").read_text("utf-8")
    assert gen.render(text) == text, "run: .venv/bin/python scripts/gen_docs.py"


def test_the_published_json_schema_is_current():
    from unsnag.policy import json_schema

    published = (ROOT / "docs" / "policy.schema.json").read_text("utf-8")
    assert published == json_schema() + "\n", "run: .venv/bin/python scripts/gen_docs.py"


def test_the_detector_reference_is_current():
    gen = load_generator()
    text = (ROOT / "docs" / "detectors.md").read_text("utf-8")
    assert gen.detectors_doc() == text, "run: .venv/bin/python scripts/gen_docs.py"
