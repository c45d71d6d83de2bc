import pytest

from unsnag.detect.detectors._remittance_refs import Candidate, core, match, normalise, parse


@pytest.mark.parametrize(
    ("written", "normalised", "digits"),
    [
        ("INV-1234", "INV1234", "1234"),
        ("Inv# 0099", "INV0099", "99"),
        ("so-100234", "SO100234", "100234"),
        ("2026/00123", "202600123", "202600123"),
        ("0000", "0000", "0"),
        ("INVOICE", "INVOICE", ""),
    ],
)
def test_ids_are_compared_upper_case_alphanumeric_and_by_their_digits(written, normalised, digits):
    assert normalise(written) == normalised
    assert core(normalised) == digits


@pytest.mark.parametrize(
    ("written", "refs"),
    [
        ("INV-1234", [("invoice", "INV1234")]),
        ("Inv# 1234", [("invoice", "1234")]),
        ("INV#1234", [("invoice", "INV1234")]),
        ("INV1234/SO99", [("invoice", "INV1234"), ("order", "SO99"), ("bare", "INV1234SO99")]),
        ("inv 1234, 1235", [("invoice", "1234"), ("invoice", "1235")]),
        ("INV1234, 1235", [("invoice", "INV1234"), ("invoice", "1235")]),
        ("payment for invoices 1234 and 1235", [("invoice", "1234"), ("invoice", "1235")]),
        ("1234", [("bare", "1234")]),
        ("#1234", [("bare", "1234")]),
        ("SO99", [("order", "SO99")]),
        ("order no. 99", [("order", "99")]),
        ("PO 4500012345", [("po", "4500012345")]),
        ("Purchase order 77", [("po", "77")]),
        ("PO-SO-1", [("bare", "POSO1")]),
        ("2026/00123", [("bare", "2026"), ("bare", "00123"), ("bare", "202600123")]),
        ("paid 1,240.00 for INV-7", [("bare", "1"), ("invoice", "INV7")]),
        ("$240.00", []),
        ("thanks!", []),
        ("", []),
        (None, []),
        (["INV-1", "INV-2"], [("invoice", "INV1"), ("invoice", "INV2")]),
    ],
)
def test_payer_references_parse_into_kinded_normalised_tokens(written, refs):
    assert [(r.kind, r.norm) for r in parse(written)] == refs


def test_a_whole_chunk_is_marked_as_the_alternative_to_its_slash_separated_parts():
    *parts, whole = parse("INV1234/SO99")
    assert whole.whole and whole.chunk == parts[0].chunk == parts[1].chunk
    assert not any(p.whole for p in parts)


OPEN = [
    Candidate("INV-1234", "SO-99", "PO-77", 500.0),
    Candidate("INV-1235", "SO-100", None, 300.0),
    Candidate("INV-0099", "SO-101", None, 99.0),
    Candidate("INV-1240", "SO-99", "PO-77", 200.0),
    Candidate("2026/00123", "SO-102", "4500012345", 80.0),
    Candidate("INV-2026", "SO-103", None, 60.0),
]


def ids(written, expected, candidates=OPEN, min_digits=4):
    return [c.invoice_id for c in match(parse(written), candidates, expected, 0.01, min_digits)]


@pytest.mark.parametrize(
    ("written", "expected", "matched"),
    [
        ("INV-1234", 500.0, ["INV-1234"]),
        ("Inv# 1234", 500.0, ["INV-1234"]),
        ("inv1234", 0.0, ["INV-1234"]),
        ("1234", 500.0, ["INV-1234"]),
        ("inv 1234, 1235", 800.0, ["INV-1234", "INV-1235"]),
        # an invoice named with its order only counts the named invoice
        ("INV1234/SO99", 500.0, ["INV-1234"]),
        # an order reference alone: every open invoice of that one order
        ("SO99", 700.0, ["INV-1234", "INV-1240"]),
        ("SO-100", 300.0, ["INV-1235"]),
        ("PO 77", 700.0, ["INV-1234", "INV-1240"]),
        ("PO 4500012345", 80.0, ["2026/00123"]),
        ("4500012345", 80.0, ["2026/00123"]),
        # the whole chunk wins over its parts
        ("2026/00123", 80.0, ["2026/00123"]),
        # a bare short number matches by its digits only when the amount matches too
        ("99", 12.0, []),
        ("99", 99.0, ["INV-0099"]),
        # but named as an invoice it is no longer bare
        ("INV 99", 12.0, ["INV-0099"]),
        ("nothing here", 500.0, []),
        ("INV-9999", 500.0, []),
    ],
)
def test_references_match_exactly_the_open_invoices_they_point_at(written, expected, matched):
    assert ids(written, expected) == matched


def test_a_reference_pointing_at_two_invoices_is_ambiguous_and_matches_nothing():
    twins = [
        Candidate("INV-1234", "SO-1", None, 10.0),
        Candidate("CM-1234", "SO-2", None, 10.0),
    ]
    assert ids("1234", 10.0, twins) == []
    assert ids("INV-1234", 10.0, twins) == ["INV-1234"]


def test_an_order_reference_matching_two_orders_by_digits_is_ambiguous():
    twins = [
        Candidate("INV-1", "SO-0099", None, 10.0),
        Candidate("INV-2", "ORD-99", None, 10.0),
    ]
    assert ids("SO99", 10.0, twins) == []
    assert ids("SO-0099", 10.0, twins) == ["INV-1"]


def test_the_short_number_threshold_is_a_parameter():
    assert ids("99", 12.0, min_digits=2) == ["INV-0099"]
