"""Insert many rows of a model with one prepared statement, without building model instances.

Django's ``bulk_create`` instantiates every object and runs each value through the full
field machinery; for list imports (hundreds of thousands of rows, several tables per row)
that is most of the time. This helper fills missing fields with their defaults, converts
only the values whose database form differs (UUIDs, datetimes, JSON, decimals), and sends
the rows with ``executemany`` (or a multi-row INSERT … RETURNING when ids are needed).
It runs inside the caller's transaction like any other query.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, models, router
from django.utils import timezone

_CONVERT = (
    models.UUIDField,
    models.DateTimeField,
    models.DateField,
    models.JSONField,
    models.DecimalField,
)


def insert_rows(
    model: type[models.Model], rows: Sequence[dict], *, returning: str | None = None
) -> list | None:
    """Insert ``rows`` (dicts of attname -> value) into ``model``'s table. With
    ``returning`` ('id'), return the generated values in the order of ``rows``."""
    if not rows:
        return [] if returning else None
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not (f.primary_key and f.auto_created)]
    now = timezone.now()
    plan = []
    for f in fields:
        auto_now = getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        if f.has_default() and not callable(f.default):
            default, call = f.get_default(), None
        elif f.has_default():
            default, call = None, f.default
        elif auto_now:
            default, call = now, None
        elif f.null:
            default, call = None, None
        else:
            default, call = "" if f.empty_strings_allowed else None, None
        convert = isinstance(f, _CONVERT)
        plan.append((f, f.attname, default, call, convert))
    values = []
    last: dict[str, tuple] = {}  # the same datetime in every row is converted once
    for row in rows:
        out = []
        for f, attname, default, call, convert in plan:
            if attname in row:
                value = row[attname]
            elif call is not None:
                value = call()
            else:
                value = default
            if convert and value is not None:
                seen = last.get(attname)
                if seen is not None and seen[0] is value:
                    value = seen[1]
                else:
                    converted = f.get_db_prep_save(value, connection)
                    last[attname] = (value, converted)
                    value = converted
            out.append(value)
        values.append(out)
    q = connection.ops.quote_name
    table = q(meta.db_table)
    columns = ", ".join(q(f.column) for f, *_ in plan)
    marks = ", ".join(["%s"] * len(plan))
    with connection.cursor() as cursor:
        if not returning:
            sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
            for start in range(0, len(values), 5000):
                cursor.executemany(sql, values[start : start + 5000])
            return None
        out_column = q(meta.get_field(returning).column)
        max_params = connection.features.max_query_params or 30_000
        per_batch = max(1, min(1000, max_params // len(plan)))
        returned: list = []
        for start in range(0, len(values), per_batch):
            batch = values[start : start + per_batch]
            placeholders = ", ".join([f"({marks})"] * len(batch))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {placeholders} "  # noqa: S608
                f"RETURNING {out_column}",
                [v for row in batch for v in row],
            )
            returned.extend(r[0] for r in cursor.fetchall())
        return returned
