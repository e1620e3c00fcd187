"""Several INSERTs as one SQL statement, through PostgreSQL's data-modifying CTEs.

    WITH "declaration" AS (INSERT INTO … VALUES (…) RETURNING "id"),
         "clocks" AS (INSERT INTO … VALUES (…, (SELECT "id" FROM "declaration"), …), (…)),
         "messages" AS (INSERT INTO … VALUES (…) RETURNING "id")
    SELECT ARRAY(SELECT "id" FROM "declaration"), ARRAY(SELECT "id" FROM "messages")

One statement is one transaction in autocommit: every row is written or none is, with
no BEGIN and COMMIT round trips around them.

The rows are unsaved model instances, and the model is the schema: the columns are
those `bulk_create` writes (`Model._meta.concrete_fields` without the auto primary key),
each value goes through the field's own `pre_save` and `get_db_prep_save` (defaults,
encryption at rest, JSON adaptation), so nothing of the schema is copied here. Only a
value that already has the exact type a plain field stores (a `str` for a CharField, an
aware `datetime` for a DateTimeField…) skips those calls, which would return it as it
is: that halves the statement's assembly. A field that refers to a row written earlier
in the same statement holds an `InsertedId`. The statement is bound on the server and
prepared (`_binding_cursor`).

Why not the ORM's insert compiler (`InsertQuery`), which would accept expressions for
those fields? Measured in bench/profile_submit.py, compiling three inserts through it,
with the expressions resolved and compiled per row, cost more CPU than the round trips
it saves. Here a row is a loop over its fields. Two more details keep the statement
cheap for psycopg, which parses a statement client-side on every execution unless it
has at most 50 parameters (then the parse is cached): a parameter is passed once
however many rows repeat the value (the region code, the submission time, `False`,
`""`), and `None` is written as NULL rather than as a parameter.

PostgreSQL only (SQLite has no data-modifying CTEs); callers keep a plain
`transaction.atomic()` path for other databases (`supports_insert_together`).
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from django.db import connections, models, transaction
from django.db.backends.postgresql.psycopg_any import is_psycopg3
from django.db.models import AutoField, Model


@dataclass(frozen=True)
class Insert:
    name: str  # the CTE's name: an identifier, for `InsertedId` and the result
    objs: Sequence[Model]  # new instances of one model
    returning: bool = False  # give back the new primary keys (also set on the instances)
    ignore_conflicts: bool = False  # ON CONFLICT DO NOTHING, as bulk_create(ignore_conflicts)

    def __post_init__(self):
        if not self.name.isidentifier():
            raise ValueError(f"not an identifier: {self.name!r}")


@dataclass(frozen=True)
class InsertedId:
    """A field's value: the primary key of the one row written by the insert `name`
    earlier in the statement; with `prefix`/`suffix`, as text between them (e.g. an
    outbox subject "declaration:42")."""

    name: str
    prefix: str | None = None
    suffix: str | None = None

    def text(self, *, prefix: str = "", suffix: str = "") -> "InsertedId":
        return InsertedId(self.name, prefix, suffix)

    def __add__(self, other: str) -> "InsertedId":
        """Text after the id, as `subject + ":suffix"` would be for a str subject."""
        if self.prefix is None or not isinstance(other, str):
            return NotImplemented
        return InsertedId(self.name, self.prefix, self.suffix + other)

    def __post_init__(self):
        if not self.name.isidentifier():
            raise ValueError(f"not an identifier: {self.name!r}")


def supports_insert_together(using: str = "default") -> bool:
    return connections[using].vendor == "postgresql"


class _Params:
    """Named parameters, one per distinct value (by type and value) and type of column:
    bound on the server, one parameter has one type, so a "" for a varchar column and a
    "" for a text column are two."""

    def __init__(self):
        self.values: dict[str, object] = {}
        self._names: dict[tuple, str] = {}

    def add(self, value, column_type: str) -> str:
        try:
            key = (type(value), value, column_type)
            name = self._names.get(key)
        except TypeError:  # unhashable (a JSON adapter): always its own parameter
            key = name = None
        if name is None:
            name = f"p{len(self.values)}"
            self.values[name] = value
            if key is not None:
                self._names[key] = name
        return f"%({name})s"


# Field classes whose values PostgreSQL takes as they are, when they already have the
# field's own Python type: for these the field's pre_save returns the attribute and
# get_db_prep_save returns it unchanged (Django's postgresql operations adapt dates and
# times as they are). A subclass that overrides any of these methods prepares its values
# itself (an encrypted field, a JSON field), and so does every other field.
_PLAIN_FIELDS = (
    (models.CharField, str),
    (models.TextField, str),
    (models.BooleanField, bool),
    (models.IntegerField, int),
    (models.DateTimeField, dt.datetime),
    (models.DateField, dt.date),
)
_PREPARATION = ("pre_save", "get_db_prep_save", "get_db_prep_value", "get_prep_value")


def _plain_type(field) -> type | None:
    """The exact type whose values `field` writes unprepared, or None."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return None
    if isinstance(field, models.ForeignKey):
        overridden = type(field).get_db_prep_save is not models.ForeignKey.get_db_prep_save
        return None if overridden or not isinstance(field.target_field, AutoField) else int
    for base, python_type in _PLAIN_FIELDS:
        if isinstance(field, base):
            same = all(getattr(type(field), m) is getattr(base, m) for m in _PREPARATION)
            return python_type if same else None
    return None


@dataclass(frozen=True)
class _Column:
    field: models.Field
    attname: str
    plain: type | None  # values of exactly this type are written as they are
    db_type: str  # the column's type without its length: parameters of one type are shared


@cache
def _columns(model: type[Model], using: str) -> tuple[tuple[_Column, ...], str]:
    """The fields bulk_create writes for rows without a primary key, and the INSERT's
    head naming them; per model, as `_meta` does not change while the process runs."""
    qn = connections[using].ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not isinstance(f, AutoField)]
    columns = ", ".join(qn(f.column) for f in fields)
    connection = connections[using]
    plan = tuple(
        _Column(f, f.attname, _plain_type(f), (f.db_type(connection) or "").split("(")[0])
        for f in fields
    )
    return plan, f"INSERT INTO {qn(model._meta.db_table)} ({columns})"


def _insert_sql(insert: Insert, connection, params: _Params) -> str:
    model = type(insert.objs[0])
    if any(type(obj) is not model or obj.pk is not None for obj in insert.objs):
        raise ValueError(f"{insert.name}: new instances of one model only")
    qn = connection.ops.quote_name
    plan, head = _columns(model, connection.alias)
    add = params.add
    rows = []
    for obj in insert.objs:
        obj._prepare_related_fields_for_save(operation_name="insert_together")
        values = []
        for column in plan:
            plain = column.plain
            value = getattr(obj, column.attname) if plain else column.field.pre_save(obj, True)
            if value is None:  # NULL for every field: no preparation
                values.append("NULL")
            elif type(value) is plain and (plain is not dt.datetime or value.tzinfo):
                values.append(add(value, column.db_type))
            elif isinstance(value, InsertedId):
                # Names are checked identifiers, quoted; values are parameters.
                ref = f"(SELECT {qn('id')} FROM {qn(value.name)})"  # noqa: S608
                if value.prefix is not None:
                    prefix, suffix = add(value.prefix, "text"), add(value.suffix, "text")
                    ref = f"({prefix} || {ref} || {suffix})"
                values.append(ref)
            else:
                value = column.field.get_db_prep_save(value, connection=connection)
                values.append("NULL" if value is None else add(value, column.db_type))
        rows.append(f"({', '.join(values)})")
    sql = f"{head} VALUES {', '.join(rows)}"
    if insert.ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    if insert.returning:
        sql += f" RETURNING {qn(model._meta.pk.column)} AS {qn('id')}"
    return sql


_NEVER_BY_COUNT = 2**31  # psycopg prepares what runs this often; ours asks explicitly


@cache
def _preparing_cursor_class():
    import psycopg

    class PreparingCursor(psycopg.Cursor):
        # Prepared from the first run, not after psycopg's count of runs.
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    return PreparingCursor


def _binding_cursor(connection):
    """A Django cursor over a psycopg cursor that binds its parameters on the server.

    Django's psycopg cursors bind client-side: psycopg quotes every value into the text
    of the statement and PostgreSQL parses and plans it anew each time. This statement
    has the same text for every submission of a shape (its values are parameters,
    NULLs and references aside), so it is bound on the server and prepared, once per
    connection and shape (psycopg keeps the last 100), and PostgreSQL then only binds
    and runs it. Django's wrapper is kept, so execute wrappers see it.
    (A pooler in transaction mode, such as PgBouncer before 1.21, would need
    `max_prepared_statements`; the deployment here connects directly.)
    """
    if connection.queries_logged or not is_psycopg3:
        # DEBUG, the debug toolbar, a test capturing queries: psycopg keeps no text of a
        # prepared statement's run for Django's log, so bind client-side and log it all.
        # (psycopg2, which Django also supports, has no server-side binding.)
        return connection.cursor()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    pg = connection.connection
    if pg.prepare_threshold is None:
        # Django sets None, which refuses even an explicit prepare=True. Its own cursors
        # bind client-side and never prepare, so this only lets ours.
        pg.prepare_threshold = _NEVER_BY_COUNT
    raw = _preparing_cursor_class()(pg)
    return connection.make_cursor(raw)


def insert_together(inserts: Sequence[Insert], *, using: str = "default") -> dict[str, list]:
    """Write every insert in one statement; give back the new primary keys of those
    with `returning`, by name, in the order of their instances (also set on them).

    Raises IntegrityError, with nothing written, when any row breaks a constraint.
    Inside a transaction it runs in a savepoint, so that the caller's transaction
    survives such an error as it would with `transaction.atomic()`.
    """
    connection = connections[using]
    qn = connection.ops.quote_name
    inserts = [i for i in inserts if i.objs]
    params = _Params()
    ctes = ", ".join(f"{qn(i.name)} AS ({_insert_sql(i, connection, params)})" for i in inserts)
    returning = [i for i in inserts if i.returning]
    select = ", ".join(f"ARRAY(SELECT {qn('id')} FROM {qn(i.name)})" for i in returning)  # noqa: S608
    statement = f"WITH {ctes} SELECT {select or 'NULL'}"
    if connection.in_atomic_block:
        with transaction.atomic(using=using), _binding_cursor(connection) as cursor:
            cursor.execute(statement, params.values)
            row = cursor.fetchone()
    else:
        with _binding_cursor(connection) as cursor:
            cursor.execute(statement, params.values)
            row = cursor.fetchone()
    ids = {i.name: list(found) for i, found in zip(returning, row, strict=False)}
    for insert in inserts:
        if insert.returning:
            for obj, pk in zip(insert.objs, ids[insert.name], strict=True):
                obj.pk = pk
        for obj in insert.objs:
            obj._state.adding = False
            obj._state.db = using
    return ids
