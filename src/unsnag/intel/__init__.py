"""Process intelligence: KPIs, root causes, incidents, process maps, OCEL, what-if.

Computed with polars (or plain Python) over the event log and the cases; no
process-mining framework in the core. Each module is self-contained: import what you
need from its module (``unsnag.intel.backtest``, ``unsnag.intel.process_map``, ...).
"""
