"""The Strategy Twin asset graph (see definitions.py)."""

from twin_resources.runtime import own_pytensor_compiledir

own_pytensor_compiledir()
