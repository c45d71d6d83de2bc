"""Resolution: playbooks, options, approvals, SLA clocks, outbox actions and the audit trail."""
