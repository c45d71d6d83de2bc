"""Detection: built-in stateful detectors and policy rules (CEL) that turn events into signals."""
