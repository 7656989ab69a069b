"""Statement builders shared by the query modules."""

from collections.abc import Sequence


def insert_once(table: str, columns: Sequence[str], noop: str) -> str:
    """Multi-row-capable idempotent insert: a duplicate key becomes a silent no-op update of
    ``noop`` (no warning, 0 affected rows) and ``IGNORE`` turns any value the column cannot
    hold into a warning, so one odd record never fails a whole batch."""
    return (
        f"INSERT IGNORE INTO {table} ({', '.join(columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON DUPLICATE KEY UPDATE {noop} = {noop}"
    )
