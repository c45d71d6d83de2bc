"""Built-in detectors, one module each; every module exposes ``DETECTOR``."""
