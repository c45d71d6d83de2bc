import pytest

from builders import at, cases_of, customer, default_policy, ev, master, order, policy_with, run
from unsnag.engine import Engine


def invoice(inv="INV-1234", oid="SO99", amount=1240.0, cid="C1", when=None):
    data = {"invoice_id": inv, "order_id": oid, "customer_id": cid, "amount": amount}
    return ev("invoice.issued", data, when=when or at(days=1))


def remittance(references, amount=1240.0, rid="R-1", cid="C1", deductions=None, when=None):
    data = {"remittance_id": rid, "amount": amount, "references": references}
    if cid:
        data["customer_id"] = cid
    if deductions:
        data["deductions"] = [{"amount": a, "reason": r} for a, r in deductions]
    return ev("remittance.received", data, when=when or at(days=20))


def payment(inv="INV-1234", amount=1240.0, rid="R-1", when=None):
    data = {"invoice_id": inv, "amount": amount}
    if rid:
        data["remittance_id"] = rid
    return ev("payment.applied", data, when=when or at(days=21))


def credit_memo(inv="INV-1234", amount=100.0, when=None):
    data = {"memo_id": "CM-1", "invoice_id": inv, "amount": amount, "reason": "damaged"}
    return ev("credit_memo.issued", data, when=when or at(days=22))


def books(*invoices):
    return [*master(), order("SO99"), order("SO100"), *(invoices or [invoice()])]


def cash_cases(events, **cfg):
    policy = policy_with(cash_unapplied=cfg) if cfg else None
    return cases_of(run(events, policy), "cash.unapplied")


# --- look-alikes: applied cash opens nothing ------------------------------------------


def test_a_reference_written_inv_hash_space_with_the_right_amount_is_applied():
    assert cash_cases([*books(), remittance("Inv# 1234")]) == []


def test_a_reference_with_the_order_glued_on_and_the_right_amount_is_applied():
    assert cash_cases([*books(), remittance("INV1234/SO99")]) == []


def test_the_order_glued_on_does_not_pull_in_the_orders_other_invoices():
    events = books(invoice(), invoice("INV-1240", amount=300.0))
    assert cash_cases([*events, remittance("INV1234/SO99")]) == []


def test_a_list_of_invoices_paid_together_is_applied():
    events = books(invoice(), invoice("INV-1235", oid="SO100", amount=60.0))
    assert cash_cases([*events, remittance("inv 1234, 1235", amount=1300.0)]) == []


def test_an_order_number_alone_is_applied_to_that_orders_invoices():
    assert cash_cases([*books(), remittance("SO-99")]) == []


def test_a_remittance_without_reference_equal_to_one_open_invoice_is_applied_by_amount():
    events = books(invoice(), invoice("INV-1235", oid="SO100", amount=60.0))
    assert cash_cases([*events, remittance("", amount=60.0)]) == []


def test_declared_deductions_that_make_up_the_difference_are_applied():
    rem = remittance("INV-1234", amount=1140.0, deductions=[(100.0, "damaged")])
    assert cash_cases([*books(), rem]) == []


def test_a_short_pay_within_the_tolerance_is_noise():
    assert cash_cases([*books(), remittance("INV-1234", amount=1239.5)]) == []


def test_a_remittance_without_customer_matches_by_reference_across_invoices():
    assert cash_cases([*books(), remittance("INV-1234", cid=None)]) == []


# --- positives ----------------------------------------------------------------------


def test_a_remittance_matching_nothing_opens_a_no_match_case_on_the_remittance():
    [case] = cash_cases([*books(), remittance("INV-9999", amount=500.0)])
    assert case["subject"] == "R-1"
    assert case["key"] == "R-1"
    assert case["root_cause"] == "no_match"
    assert case["refs"] == {"customer_id": "C1", "remittance_id": "R-1"}
    assert case["customer_id"] == "C1"
    assert case["revenue_at_risk"] == 500.0
    assert case["owner_team"] == "cash_application"
    assert case["opened_at"] == "2026-05-24T08:00:00Z"
    assert "no open invoice matches 'INV-9999'" in case["summary"]


def test_a_bare_short_number_does_not_match_an_invoice_by_its_digits_alone():
    events = books(invoice("INV-0099", amount=1240.0), invoice("INV-0100", amount=1240.0))
    [case] = cash_cases([*events, remittance("99", amount=500.0)])
    assert case["root_cause"] == "no_match"


def test_a_bare_short_number_matches_when_the_amount_matches_too():
    events = books(invoice("INV-0099", amount=1240.0), invoice("INV-0100", amount=1240.0))
    assert cash_cases([*events, remittance("99", amount=1240.0)]) == []


def test_a_remittance_without_customer_and_no_matching_reference_is_no_match():
    [case] = cash_cases([*books(), remittance("thanks", cid=None)])
    assert case["root_cause"] == "no_match"
    assert case["customer_id"] is None
    assert "unknown payer" in case["summary"]


def test_a_short_pay_opens_a_short_pay_case_with_the_short_amount_at_risk():
    [case] = cash_cases([*books(), remittance("INV-1234", amount=1000.0)])
    assert case["root_cause"] == "short_pay"
    assert case["revenue_at_risk"] == 240.0
    assert case["refs"] == {
        "customer_id": "C1",
        "invoice_id": "INV-1234",
        "order_id": "SO99",
        "remittance_id": "R-1",
    }
    assert case["summary"] == "pays 1,000.00 against 1,240.00 open on INV-1234 (short 240.00)"


def test_a_short_pay_beyond_declared_deductions_is_a_deduction_case_naming_the_reasons():
    rem = remittance("INV-1234", amount=1000.0, deductions=[(100.0, "damaged"), (40.0, None)])
    [case] = cash_cases([*books(), rem])
    assert case["root_cause"] == "deduction"
    assert case["revenue_at_risk"] == 240.0
    reasons = "deductions damaged 100.00; no reason given 40.00; 100.00 unexplained"
    assert reasons in case["summary"]


def test_an_over_payment_opens_an_over_pay_case():
    [case] = cash_cases([*books(), remittance("INV-1234", amount=1300.0)])
    assert case["root_cause"] == "over_pay"
    assert case["revenue_at_risk"] == 60.0


def test_the_short_pay_tolerance_comes_from_the_policy():
    short_by_10 = [*books(), remittance("INV-1234", amount=1230.0)]
    assert cash_cases(short_by_10, short_pay_tolerance=20) == []
    assert cash_cases(short_by_10) != []


def test_the_same_remittance_told_again_updates_its_case():
    again = remittance("INV-9999", amount=500.0, when=at(days=20, hours=1))
    [case] = cash_cases([*books(), remittance("INV-9999", amount=500.0), again])
    assert case["signals"] == 2


def test_an_applied_remittance_told_again_after_its_payment_opens_nothing():
    again = remittance("INV-1234", when=at(days=22))
    assert cash_cases([*books(), remittance("INV-1234"), payment(), again]) == []


# --- resolution ---------------------------------------------------------------------


def test_applying_the_remittance_in_full_resolves_the_case():
    events = [
        *books(),
        remittance("INV-9999", amount=500.0),
        payment(amount=300.0),
        payment(amount=200.0, when=at(days=23)),
    ]
    [case] = cash_cases(events)
    assert case["status"] == "resolved"
    assert case["closed_at"] == "2026-05-27T08:00:00Z"
    assert case["resolution"] == "cash applied in full"


def test_a_partial_application_leaves_the_case_open():
    [case] = cash_cases([*books(), remittance("INV-9999", amount=500.0), payment(amount=300.0)])
    assert case["status"] == "open"


def test_a_credit_memo_covering_the_short_pay_resolves_the_case():
    events = [*books(), remittance("INV-1234", amount=1000.0), credit_memo(amount=240.0)]
    [case] = cash_cases(events)
    assert case["status"] == "resolved"
    assert case["resolution"] == "short-paid invoices settled"
    assert case["closed_at"] == "2026-05-26T08:00:00Z"


def test_a_smaller_credit_memo_leaves_the_short_pay_open():
    events = [*books(), remittance("INV-1234", amount=1000.0), credit_memo(amount=100.0)]
    [case] = cash_cases(events)
    assert case["status"] == "open"


def test_a_remittance_told_again_so_that_it_adds_up_resolves_its_case():
    twins = books(invoice(), invoice("INV-1235", oid="SO100"))
    corrected = remittance("INV-1234", when=at(days=20, hours=2))
    [case] = cash_cases([*twins, remittance("INV-9999"), corrected])
    assert case["status"] == "resolved"
    assert case["resolution"] == "remittance now matches its invoices"


def test_a_customer_po_number_as_reference_is_applied():
    assert cash_cases([*books(), remittance("PO PO-SO99")]) == []


def test_a_remittance_for_an_invoice_already_paid_matches_nothing():
    paid = payment(rid=None, when=at(days=10))
    [case] = cash_cases([*books(), paid, remittance("INV-1234")])
    assert case["root_cause"] == "no_match"


def test_a_reference_to_another_customers_invoice_does_not_match():
    events = [*books(), customer("C2"), remittance("INV-1234", cid="C2")]
    [case] = cash_cases(events)
    assert case["root_cause"] == "no_match"
    assert case["customer_id"] == "C2"


# --- the balance of a short pay, sent before either payment is applied ----------------


def short_pay_then(balance, *later):
    """R-1 short-pays INV-1234 (1,000.00 of 1,240.00); R-2 sends ``balance`` before either
    is applied."""
    second = remittance("INV-1234", amount=balance, rid="R-2", when=at(days=20, hours=5))
    return [*books(), remittance("INV-1234", amount=1000.0), second, *later]


def test_the_balance_of_a_short_pay_arriving_before_either_is_applied_is_not_a_case():
    both_applied = [
        payment(amount=1000.0, rid="R-1", when=at(days=21)),
        payment(amount=240.0, rid="R-2", when=at(days=22)),
    ]
    cases = cash_cases(short_pay_then(240.0, *both_applied))
    assert [case["key"] for case in cases] == ["R-1"]


def test_the_balance_of_a_short_pay_resolves_the_short_pay_case():
    [case] = cash_cases(short_pay_then(240.0))
    assert case["root_cause"] == "short_pay"
    assert case["status"] == "resolved"
    assert case["resolution"] == "shortfall paid by R-2"
    assert case["closed_at"] == "2026-05-24T13:00:00Z"


def test_the_payments_of_a_short_pay_and_its_balance_applied_later_open_nothing_more():
    both_applied = [
        payment(amount=1000.0, rid="R-1", when=at(days=21)),
        payment(amount=240.0, rid="R-2", when=at(days=22)),
        remittance("INV-1234", amount=1000.0, rid="R-1", when=at(days=23)),
    ]
    [case] = cash_cases(short_pay_then(240.0, *both_applied))
    assert case["resolution"] == "shortfall paid by R-2"
    assert case["signals"] == 1


def test_a_second_remittance_that_still_leaves_a_gap_stays_a_short_pay():
    first, second = cash_cases(short_pay_then(200.0))
    assert (first["key"], first["status"], first["root_cause"]) == ("R-1", "open", "short_pay")
    assert (second["key"], second["root_cause"]) == ("R-2", "short_pay")
    assert second["revenue_at_risk"] == 40.0
    assert second["summary"] == (
        "pays 200.00 against 240.00 still expected on INV-1234 after R-1 (short 40.00)"
    )


def test_an_over_payment_relative_to_the_remaining_expected_amount_is_over_pay():
    first, second = cash_cases(short_pay_then(300.0))
    assert (second["key"], second["root_cause"]) == ("R-2", "over_pay")
    assert second["revenue_at_risk"] == 60.0
    assert first["resolution"] == "shortfall paid by R-2"  # and then some: R-2's case


def test_a_credit_memo_for_what_two_short_pays_left_open_resolves_both():
    events = short_pay_then(200.0, credit_memo(amount=40.0))
    assert [(c["key"], c["status"]) for c in cash_cases(events)] == [
        ("R-1", "resolved"),
        ("R-2", "resolved"),
    ]


def test_a_remittance_paying_an_invoice_already_paid_by_an_unapplied_one_is_over_pay():
    again = remittance("INV-1234", rid="R-2", when=at(days=20, hours=5))
    [case] = cash_cases([*books(), remittance("INV-1234"), again])
    assert (case["key"], case["root_cause"], case["revenue_at_risk"]) == ("R-2", "over_pay", 1240.0)


def test_cash_applied_in_part_is_expected_only_for_the_part_still_to_apply():
    partly_applied = payment(amount=600.0, rid="R-1", when=at(days=20, hours=2))
    balance = remittance("INV-1234", amount=240.0, rid="R-2", when=at(days=20, hours=5))
    events = [*books(), remittance("INV-1234", amount=1000.0), partly_applied, balance]
    [case] = cash_cases(events)
    assert (case["key"], case["resolution"]) == ("R-1", "shortfall paid by R-2")


def test_applied_cash_is_no_longer_expected_from_its_remittance():
    applied = payment(amount=1000.0, rid="R-1", when=at(days=20, hours=2))
    events = [*books(), remittance("INV-1234", amount=1000.0), applied]
    balance = remittance("INV-1234", amount=240.0, rid="R-2", when=at(days=20, hours=5))
    [case] = cash_cases([*events, balance])
    assert (case["key"], case["resolution"]) == ("R-1", "cash applied in full")


# --- cash in advance of billing: the invoice is issued after the remittance ------------


def cash_first(*later, references="INV-1234", amount=1240.0):
    """R-1 arrives on day 1, before any invoice of C1 was issued."""
    early = remittance(references, amount=amount, when=at(days=1))
    return [*master(), order("SO99"), order("SO100"), early, *later]


def test_cash_that_arrives_before_its_invoice_is_resolved_when_the_invoice_is_issued():
    [case] = cash_cases(cash_first(invoice(when=at(days=3))))
    assert case["root_cause"] == "no_match"
    assert case["status"] == "resolved"
    assert case["resolution"] == "matched to INV-1234 issued later"
    assert case["closed_at"] == "2026-05-07T08:00:00Z"


def test_a_remittance_referencing_the_order_number_is_matched_when_its_invoice_arrives():
    [case] = cash_cases(cash_first(invoice(when=at(days=3)), references="order SO-99"))
    assert (case["status"], case["resolution"]) == ("resolved", "matched to INV-1234 issued later")


def test_a_remittance_referencing_the_po_is_matched_when_the_orders_invoice_arrives():
    [case] = cash_cases(cash_first(invoice(when=at(days=3)), references="PO PO-SO99"))
    assert case["status"] == "resolved"


def test_cash_without_reference_is_matched_by_amount_to_an_invoice_issued_later():
    [case] = cash_cases(cash_first(invoice(when=at(days=3)), references="", amount=1240.0))
    assert case["resolution"] == "matched to INV-1234 issued later"


def test_an_unrelated_invoice_of_the_same_customer_with_another_amount_does_not_resolve_it():
    other = invoice("INV-1235", oid="SO100", amount=60.0, when=at(days=3))
    [case] = cash_cases(cash_first(other, amount=500.0))
    assert (case["status"], case["root_cause"]) == ("open", "no_match")
    [no_ref] = cash_cases(cash_first(other, references="", amount=500.0))
    assert no_ref["status"] == "open"


def test_an_invoice_of_another_customer_does_not_resolve_it():
    events = cash_first(
        customer("C2"), order("SO7", cid="C2"), invoice("INV-1234", "SO7", cid="C2")
    )
    [case] = cash_cases(events)
    assert case["status"] == "open"


def test_a_short_pay_of_an_invoice_issued_later_stays_one_open_case_on_that_invoice():
    events = cash_first(invoice(when=at(days=3)), amount=1000.0)
    [case] = cash_cases(events)
    assert (case["status"], case["root_cause"]) == ("open", "no_match")
    assert case["refs"]["invoice_id"] == "INV-1234"
    assert case["signals"] == 2
    [settled] = cash_cases([*events, credit_memo(amount=240.0)])
    assert (settled["status"], settled["resolution"]) == ("resolved", "short-paid invoices settled")


def test_cash_matched_late_is_expected_on_its_invoice_until_applied():
    again = remittance("INV-1234", rid="R-2", when=at(days=5))
    cases = cash_cases(cash_first(invoice(when=at(days=3)), again))
    assert [(c["key"], c["root_cause"]) for c in cases] == [
        ("R-1", "no_match"),
        ("R-2", "over_pay"),
    ]


def test_a_no_match_case_applied_in_full_no_longer_waits_for_an_invoice():
    events = cash_first(payment(amount=1240.0, when=at(days=2)), invoice(when=at(days=3)))
    [case] = cash_cases(events)
    assert case["resolution"] == "cash applied in full"
    assert case["closed_at"] == "2026-05-06T08:00:00Z"


def test_a_remittance_waiting_for_its_invoice_survives_a_checkpoint():
    engine = run(cash_first())
    engine = Engine.restore(default_policy(), engine.snapshot())
    engine.step(invoice(when=at(days=3)))
    [case] = cases_of(engine, "cash.unapplied")
    assert case["resolution"] == "matched to INV-1234 issued later"


@pytest.mark.parametrize(
    "later",
    [
        [invoice(when=at(days=3))],
        [invoice("INV-1235", oid="SO100", amount=60.0, when=at(days=2)), invoice(when=at(days=3))],
        [invoice(amount=1300.0, when=at(days=3)), credit_memo(amount=60.0, when=at(days=4))],
    ],
    ids=["late-invoice", "unrelated-first", "short-then-credited"],
)
def test_live_and_replay_give_the_same_cases(later):
    events = cash_first(*later)
    engine = Engine(default_policy())
    for event in events:
        engine.step(event)
        engine.advance()  # live: timers fire as the watermark moves
    live = cases_of(engine, "cash.unapplied")
    assert live and live == cases_of(run(events), "cash.unapplied")
