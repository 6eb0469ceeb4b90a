"""Building QuickBooks queries safely: every literal goes through :func:`quote`."""

from __future__ import annotations

from collections.abc import Iterable


def quote(value: str) -> str:
    """A QuickBooks string literal. Backslash first, then the quote: the other order double-escapes."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def in_list(values: Iterable[str]) -> str:
    """``('a', 'b')`` for ``IN``; callers chunk long lists (URLs and Intuit's parser have limits)."""
    return "(" + ", ".join(quote(v) for v in values) + ")"


def select(entity: str, where: Iterable[str] = (), order_by: str | None = None,
           start_position: int | None = None, max_results: int | None = None, count: bool = False,
           fields: Iterable[str] = ()) -> str:
    """One statement; ``fields`` (plain property names) narrow ``SELECT *`` to what the caller needs."""
    projection = "COUNT(*)" if count else (", ".join(fields) or "*")
    parts = [f"SELECT {projection} FROM {entity}"]
    conditions = [c for c in where if c]
    if conditions:
        parts.append("WHERE " + " AND ".join(conditions))
    if order_by and not count:
        parts.append(f"ORDERBY {order_by}")
    if start_position is not None and not count:
        parts.append(f"STARTPOSITION {start_position}")
    if max_results is not None and not count:
        parts.append(f"MAXRESULTS {max_results}")
    return " ".join(parts)
