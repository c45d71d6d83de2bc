"""Who may do what: automation limits, approval rules and segregation of duties.

- An option runs **without a human** when automation is enabled and an automation rule
  covers the case type and action, the money at stake is within its ``max_amount``, the
  customer's tier is listed (when the rule lists tiers), the option's confidence is at
  least ``min_confidence``, and a price below the margin floor is explicitly allowed.
- Otherwise it needs an **approval**: the first approval rule that matches the action,
  case type, amount and margin names the approver's role (else the default role).
- **Segregation of duties**: whoever requested an action cannot approve it, and an
  approver must hold the rule's role — or ``admin``, or, once the approval has been
  escalated, the ladder role it was escalated to or one above it.
- A person who asks for an action (``act``) while holding the approver role needs no
  second approval, unless the rule is a threshold rule (``min_amount`` above zero):
  large amounts always take four eyes.
- A **batch** (``Option.batch``, an allocation plan's moves) is decided as one: a rule
  covers it only when it covers every action in it; amount and confidence are the
  batch's own (the total, the weakest).
"""

from __future__ import annotations

from dataclasses import dataclass

from unsnag.errors import Forbidden
from unsnag.policy.resolution import ApprovalRule, AutomationRule, Resolution
from unsnag.resolve.model import Option
from unsnag.resolve.work import Approval

READ_ONLY_ROLES = frozenset({"viewer"})
ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Requirement:
    """The approval an option needs: the role, the rule that says so, its expiry."""

    role: str
    rule: str
    expires_hours: float
    threshold: bool


def automation_rule(
    res: Resolution, case_type: str, option: Option, tier: str | None
) -> AutomationRule | None:
    """The automation rule that lets ``option`` run without a human, if any."""
    if not res.automation.enabled:
        return None
    for rule in res.automation.rules:
        if case_type not in rule.case_types:
            continue
        if any(member.action not in rule.actions for member in option.actions):
            continue
        if rule.max_amount is not None and option.amount > rule.max_amount:
            continue
        if rule.tiers is not None and (tier or "standard") not in rule.tiers:
            continue
        if option.confidence < rule.min_confidence:
            continue
        if option.below_margin_floor and not rule.below_margin_floor:
            continue
        return rule
    return None


def _matches(rule: ApprovalRule, case_type: str, option: Option) -> bool:
    if "*" not in rule.actions and any(m.action not in rule.actions for m in option.actions):
        return False
    if rule.case_types is not None and case_type not in rule.case_types:
        return False
    if option.amount < rule.min_amount:
        return False
    return not rule.below_margin_floor or option.below_margin_floor


def requirement(res: Resolution, case_type: str, option: Option) -> Requirement:
    """The approval ``option`` needs when no automation rule covers it."""
    for rule in res.approvals:
        if _matches(rule, case_type, option):
            return Requirement(rule.role, rule.id, rule.expires_hours, rule.min_amount > 0)
    return Requirement(res.default_approver_role, "default", 8.0, False)


def check_can_act(role: str) -> None:
    if role in READ_ONLY_ROLES:
        raise Forbidden(f"role {role!r} may read cases but not work them")


def check_can_approve(res: Resolution, approval: Approval, actor: str, role: str) -> None:
    """Raise :class:`Forbidden` with the reason when ``actor`` may not decide."""
    if actor == approval.requested_by:
        raise Forbidden(
            f"{actor} requested this action and cannot approve it (segregation of duties)"
        )
    if role == ADMIN or role == approval.role:
        return
    ladder = res.escalation.ladder
    escalated = approval.escalated_to
    if escalated in ladder and role in ladder and ladder.index(role) >= ladder.index(escalated):
        return
    needed = approval.role
    if approval.escalated_to:
        needed += f" (or {approval.escalated_to} and above, after escalation)"
    raise Forbidden(f"approving {approval.action} needs the role {needed}; {actor} is {role}")
