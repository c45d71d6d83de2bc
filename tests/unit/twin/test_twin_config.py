"""The twin's business config: defaults, YAML overrides, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from unsnag.errors import ContractViolation, NotFound
from unsnag.twin.config import FAULT_KINDS, TwinConfig, load_config


def test_defaults_are_a_whole_business() -> None:
    config = TwinConfig()
    assert len(config.dcs) >= 2 and len(config.carriers) >= 2
    assert len(config.weekday_weights) == 7 and len(config.hour_weights) == 24
    assert set(FAULT_KINDS) <= set(TwinConfig.model_fields["faults"].annotation.model_fields)  # type: ignore[union-attr]


def test_yaml_overrides_defaults(tmp_path: Path) -> None:
    path = tmp_path / "twin.yaml"
    path.write_text("customers: 12\nfaults:\n  pick_short: 0.2\n", "utf-8")
    config = load_config(path)
    assert config.customers == 12
    assert config.faults.pick_short == 0.2
    assert config.skus == TwinConfig().skus


@pytest.mark.parametrize(
    "text",
    ["customers: 0\n", "weekday_weights: [1, 2]\n", "nonsense: 1\n", "- a list\n",
     "supplier_lead_days: {min: 5, max: 2}\n"],
)  # fmt: skip
def test_bad_config_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "twin.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(ContractViolation):
        load_config(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        load_config(tmp_path / "nope.yaml")
