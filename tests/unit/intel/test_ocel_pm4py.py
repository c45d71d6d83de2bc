"""A second opinion on the export from pm4py, the reference OCEL 2.0 implementation.

pm4py is AGPL: it is never a dependency of unsnag, and these tests skip unless it is
installed by hand (``pip install pm4py`` into a scratch environment with unsnag).
"""

from __future__ import annotations

import pytest
from test_ocel_export import order_to_cash

from unsnag.intel.ocel_write import export_ocel

pm4py = pytest.importorskip("pm4py")


def test_pm4py_finds_the_sqlite_flavour_satisfies_every_relational_constraint(tmp_path):
    from pm4py.objects.ocel.validation import ocel20_rel_validation

    out = tmp_path / "log.sqlite"
    export_ocel(iter(order_to_cash()), out)
    satisfied, unsatisfied = ocel20_rel_validation.apply(str(out))
    assert unsatisfied == [] and len(satisfied) >= 24


@pytest.mark.parametrize("flavour", ["jsonocel", "sqlite"])
def test_pm4py_reads_both_flavours_whole(tmp_path, flavour):
    out = tmp_path / f"log.{flavour}"
    report = export_ocel(iter(order_to_cash()), out)
    read = pm4py.read_ocel2_json if flavour == "jsonocel" else pm4py.read_ocel2_sqlite
    log = read(str(out))
    assert len(log.events) == report.events
    assert len(log.objects) == report.objects
    assert len(log.relations) == report.e2o
    assert len(log.o2o) == report.o2o
