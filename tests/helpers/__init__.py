"""Helpers the tests share (fixtures stay in tests/conftest.py): graph runs and warehouses
(graph), loose risk limits (risk_limits), the scripted market of the solution-level tests
(solutions), injected write failures (faults) and per-day metadata checks (day_metadata)."""
