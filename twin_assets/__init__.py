"""The Strategy Twin asset graph (see definitions.py)."""
