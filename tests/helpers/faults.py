"""Injected failures inside a warehouse write, standing in for a kill mid-transaction."""

from twin_resources.warehouse import Warehouse


def fail_on_insert(monkeypatch, failing_call: int) -> list[str]:
    """Make the ``failing_call``-th ``Warehouse.insert_rows`` raise (the ones before it run):
    1 fails right after the first table's DELETE, 2 after the first table's INSERT.
    Returns the tables whose insert was reached, in order."""
    original, calls = Warehouse.insert_rows, []

    def insert_then_fail(connection, spec, frame):
        calls.append(spec.qualified_name)
        if len(calls) == failing_call:
            raise RuntimeError("killed inside the write (injected)")
        original(connection, spec, frame)

    monkeypatch.setattr(Warehouse, "insert_rows", staticmethod(insert_then_fail))
    return calls
