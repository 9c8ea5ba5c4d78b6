"""Helpers every layer shares: asset arguments and checks (common), per-day metadata,
the calendar's partitions, previous-day state (history), restatements and replays."""
