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
is: that halves the statement's assembly. So do a choice's enum member in a CharField
(sent as its text) and a dict or list in a JSONField without an encoder (sent as its
`json.dumps` text, as Django's adapter would have psycopg send it). A field that refers to a row written earlier
in the same statement holds an `InsertedId`. The statement is bound on the server and
prepared (`_binding_cursor`).

Why not the ORM's insert compiler (`InsertQuery`), which would accept expressions for
those fields? Measured in bench/profile_submit.py, compiling three inserts through it,
with the expressions resolved and compiled per row, cost more CPU than the round trips
it saves. Here a row is a loop over its fields, and the statement's text is built once
per shape (its tables, row counts and references) and cached: every value, NULL
included, is a parameter, in PostgreSQL's own `$n` placeholders, which psycopg sends as
they are (a `RawCursor`) rather than parsing the text for `%s` on every execution,
which it does for a statement of more than 50 parameters.

PostgreSQL only (SQLite has no data-modifying CTEs); callers keep a plain
`transaction.atomic()` path for other databases (`supports_insert_together`).
"""

import datetime as dt
import json
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cache
from operator import attrgetter

from django.db import connections, models, transaction
from django.db.backends.postgresql.psycopg_any import is_psycopg3
from django.db.models import AutoField, Model, signals
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute


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


@cache
def _init_fields(model: type[Model]) -> tuple[dict[str, int], tuple, dict[int, object]]:
    """Where each concrete field's value goes in `model(*args)`; the defaults that are
    the same value every time (no default, or a value rather than a callable), worked
    out once through the field's own `get_default`; and the default-makers of the
    rest, by position."""
    fields = model._meta.concrete_fields
    slots: dict[str, int] = {}
    constants = []
    makers = {}
    for i, f in enumerate(fields):
        slots[f.attname] = i
        if not f.is_relation:
            slots[f.name] = i
        made = callable(f.default) if f.has_default() else f.has_db_default()
        if made:
            makers[i] = f.get_default
        # A value default is the very same object each time in Django too.
        constants.append(None if made else f.get_default())
    return slots, tuple(constants), makers


def new_row(model: type[Model], /, **values) -> Model:
    """`model(**values)` for a row about to be written, through Django's positional
    constructor (the one `Model.from_db` uses, signals and all), which skips a lookup
    and a caught KeyError for every field not given: a third fewer instructions for the
    clocks and outbox rows of every submission. Values are by field name or attname;
    a related object is not accepted (give its id)."""
    slots, constants, makers = _init_fields(model)
    args = list(constants)
    pending = dict(makers)
    for name, value in values.items():
        try:
            i = slots[name]
        except KeyError:
            raise TypeError(f"{model.__name__} has no field {name!r}") from None
        args[i] = value
        pending.pop(i, None)
    for i, make in pending.items():
        args[i] = make()
    names = _plain_init(model)
    if names is None or _init_signals_heard(model):
        return model(*args)
    # What `model(*args)` does for such a model, without its loop over the fields.
    obj = model.__new__(model)
    obj._state = ModelState()
    obj.__dict__.update(zip(names, args, strict=True))
    return obj


@cache
def _plain_init(model: type[Model]) -> tuple[str, ...] | None:
    """The attnames `model(*args)` sets, in order, when that is all it does: Django's
    own constructor, and for every field Django's own descriptor, which keeps the value
    in the instance's `__dict__` (a field with a descriptor of its own, such as a
    protected FSM field, may act on each assignment); else None."""
    if model.__init__ is not Model.__init__:
        return None
    names = []
    for f in model._meta.concrete_fields:
        descriptor = next(
            (k.__dict__[f.attname] for k in model.__mro__ if f.attname in k.__dict__), None
        )
        if type(descriptor) not in (DeferredAttribute, ForeignKeyDeferredAttribute):
            return None
        names.append(f.attname)
    return tuple(names)


def _init_signals_heard(model: type[Model]) -> bool:
    # Checked every time: a receiver may be connected at any moment.
    return signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model)


def supports_insert_together(using: str = "default") -> bool:
    return connections[using].vendor == "postgresql"


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


class _Json:
    """The `plain` marker of a JSONField without an encoder: a dict or list value is
    sent as its `json.dumps` text, which is what Django's `Jsonb` adapter would have
    psycopg send (PostgreSQL reads it as the column's jsonb either way)."""


def _plain_type(field) -> type | None:
    """The exact type whose values `field` writes unprepared, or None."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return None
    if isinstance(field, models.ForeignKey):
        overridden = type(field).get_db_prep_save is not models.ForeignKey.get_db_prep_save
        return None if overridden or not isinstance(field.target_field, AutoField) else int
    if isinstance(field, models.JSONField):
        same = all(getattr(type(field), m) is getattr(models.JSONField, m) for m in _PREPARATION)
        return _Json if same and field.encoder is None else None
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
    # (str: also a str subclass such as a TextChoices member, as its plain text;
    # _Json: a dict or list, as its JSON text)
    default: object  # the field's constant default, when `literal` says it
    literal: str | None  # that default as SQL (NULL, FALSE, TRUE, 0, ''), or None


# A constant default that is one of these, in a column whose values are written as
# they are (or NULL in any column), goes into the statement's text as a literal when a
# row leaves it: nothing to send, convert and bind for it (about 40 of a submission's 90
# values). A row that sets the column sends a parameter, in a statement of its own shape.
_LITERALS = {str: {"": "''"}, bool: {False: "FALSE", True: "TRUE"}, int: {0: "0"}}


def _default_literal(field: models.Field, plain: type | None) -> tuple[object, str | None]:
    if not field.has_default() and field.has_db_default():
        return None, None  # the database's default: bulk_create leaves it out, and so do we
    if field.has_default() and callable(field.default):
        return None, None
    default = field.get_default()
    if default is None:
        return None, "NULL"
    literal = _LITERALS.get(plain, {}).get(default) if type(default) is plain else None
    return (default, literal) if literal else (None, None)


@cache
def _columns(model: type[Model], using: str) -> tuple[tuple[_Column, ...], str, bool, Callable]:
    """The fields bulk_create writes for rows without a primary key, the INSERT's head
    naming them, whether any is a relation (whose unsaved target Django's check
    refuses), and a function giving an instance's values of them, as a tuple; per
    model, as `_meta` does not change while the process runs."""
    qn = connections[using].ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not isinstance(f, AutoField)]
    columns = ", ".join(qn(f.column) for f in fields)
    plan = []
    for f in fields:
        plain = _plain_type(f)
        plan.append(_Column(f, f.attname, plain, *_default_literal(f, plain)))
    related = any(f.is_relation for f in fields)
    names = [c.attname for c in plan]
    getter = attrgetter(*names) if len(names) > 1 else lambda obj: (getattr(obj, names[0]),)
    head = f"INSERT INTO {qn(model._meta.db_table)} ({columns})"
    return tuple(plan), head, related, getter


def _collect(inserts: Sequence[Insert], connection) -> tuple[tuple, list]:
    """The statement's shape and its parameters, in order.

    Every value is a parameter, NULL included, except a reference to a row written
    earlier in the statement and a column left at its literal default (`_LITERALS`);
    so the statement's text depends only on its tables, its row counts and where its
    references and literals are: the shape, by which the text is cached.
    """
    params: list = []
    refs: list[tuple[int, str, bool]] = []  # (slot, insert name, as text)
    literals: list[int] = []  # slots whose column's default literal is written
    slot = 0
    for insert in inserts:
        model = type(insert.objs[0])
        if any(type(obj) is not model or obj.pk is not None for obj in insert.objs):
            raise ValueError(f"{insert.name}: new instances of one model only")
        plan, _head, related, values_of = _columns(model, connection.alias)
        for obj in insert.objs:
            if related:
                obj._prepare_related_fields_for_save(operation_name="insert_together")
            for column, value in zip(plan, values_of(obj), strict=True):
                plain = column.plain
                if plain is None:
                    value = column.field.pre_save(obj, True)
                if column.literal is not None and value is column.default:
                    # (`is`: None, a bool, and CPython's one "" and 0; an equal value
                    # that is another object is sent as a parameter, which is as right.)
                    literals.append(slot)
                elif value is None or (
                    type(value) is plain and (plain is not dt.datetime or value.tzinfo)
                ):
                    params.append(value)
                elif plain is str and isinstance(value, str):
                    # A choice's enum member: CharField's preparation returns it as it
                    # is, and psycopg would look up a dumper for its class.
                    params.append(str.__str__(value))
                elif plain is _Json and type(value) in (dict, list):
                    params.append(json.dumps(value))
                elif isinstance(value, InsertedId):
                    refs.append((slot, value.name, value.prefix is not None))
                    if value.prefix is not None:
                        params += (value.prefix, value.suffix)
                else:
                    params.append(column.field.get_db_prep_save(value, connection=connection))
                slot += 1
    shape = tuple(
        (i.name, type(i.objs[0]), len(i.objs), i.ignore_conflicts, i.returning) for i in inserts
    )
    return (shape, tuple(refs), tuple(literals)), params


# Statement texts by shape and placeholder style; a process sees a handful of shapes.
_statements: dict[tuple, str] = {}
_MAX_STATEMENTS = 256


def _statement(key: tuple, inserts: Sequence[Insert], connection, placeholders: str) -> str:
    cache_key = (key, placeholders, connection.vendor)
    sql = _statements.get(cache_key)
    if sql is not None:
        return sql
    qn = connection.ops.quote_name
    numbered = placeholders == "$"
    counter = iter(range(1, 1 << 30))

    def param() -> str:
        return f"${next(counter)}" if numbered else "%s"

    refs = {slot: (name, as_text) for slot, name, as_text in key[1]}
    literals = set(key[2])
    slot = 0
    ctes, returning = [], []
    for insert in inserts:
        model = type(insert.objs[0])
        plan, head, _related, _values_of = _columns(model, connection.alias)
        rows = []
        for _obj in insert.objs:
            values = []
            for column in plan:
                ref = refs.get(slot)
                if slot in literals:
                    values.append(column.literal)
                elif ref is None:
                    values.append(param())
                else:
                    name, as_text = ref
                    # Names are checked identifiers, quoted; values are parameters.
                    sub = f"(SELECT {qn('id')} FROM {qn(name)})"  # noqa: S608
                    values.append(f"({param()} || {sub} || {param()})" if as_text else sub)
                slot += 1
            rows.append(f"({', '.join(values)})")
        sql = f"{head} VALUES {', '.join(rows)}"
        if insert.ignore_conflicts:
            sql += " ON CONFLICT DO NOTHING"
        if insert.returning:
            sql += f" RETURNING {qn(model._meta.pk.column)} AS {qn('id')}"
            returning.append(f"ARRAY(SELECT {qn('id')} FROM {qn(insert.name)})")  # noqa: S608
        ctes.append(f"{qn(insert.name)} AS ({sql})")
    sql = f"WITH {', '.join(ctes)} SELECT {', '.join(returning) or 'NULL'}"
    if len(_statements) >= _MAX_STATEMENTS:
        _statements.clear()
    _statements[cache_key] = sql
    return sql


_NEVER_BY_COUNT = 2**31  # psycopg prepares what runs this often; ours asks explicitly


@cache
def _preparing_cursor_class():
    import psycopg

    class PreparingRawCursor(psycopg.RawCursor):
        # Placeholders are PostgreSQL's own ($1, $2 …), which psycopg passes as they are
        # instead of parsing the statement for %s; prepared from the first run, not
        # after psycopg's count of runs.
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    return PreparingRawCursor


def _close_if_closed_by_server(connection) -> None:
    """Django's health check (`CONN_HEALTH_CHECKS`) for a reused connection, without
    its round trip. Django runs `SELECT 1` before a request's first cursor; this cursor
    is not Django's, so it looks instead at whether the server has spoken unasked on
    the idle connection, which it does when it closes it (a restart, a terminated
    backend: the reason, then the close; nothing here LISTENs). Such a connection is
    closed, and the statement opens a new one instead of failing the farmer's
    submission. Within a transaction the connection is the transaction's, and kept."""
    import select

    if (
        connection.connection is None
        or not connection.health_check_enabled
        or connection.health_check_done
        or connection.in_atomic_block
    ):
        return
    connection.health_check_done = True
    readable, _w, _x = select.select([connection.connection.pgconn.socket], [], [], 0)
    if readable:
        connection.close()


def _binding_cursor(connection):
    """A Django cursor over a psycopg cursor that binds its parameters on the server,
    and the placeholder style its statements use ("$" or "%s").

    Django's psycopg cursors bind client-side: psycopg quotes every value into the text
    of the statement and PostgreSQL parses and plans it anew each time. This statement
    has the same text for every submission of a shape (every value is a parameter,
    references aside), so it is bound on the server and prepared, once per connection
    and shape (psycopg keeps the last 100), and PostgreSQL then only binds and runs it.
    Django's wrapper is kept, so execute wrappers see it.
    (A pooler in transaction mode, such as PgBouncer before 1.21, would need
    `max_prepared_statements`; the deployment here connects directly.)
    """
    if connection.queries_logged or not is_psycopg3:
        # DEBUG, the debug toolbar, a test capturing queries: psycopg keeps no text of a
        # prepared statement's run for Django's log, so bind client-side and log it all.
        # (psycopg2, which Django also supports, has no server-side binding.)
        return connection.cursor(), "%s"
    _close_if_closed_by_server(connection)
    connection.ensure_connection()
    connection.validate_thread_sharing()
    pg = connection.connection
    if pg.prepare_threshold is None:
        # Django sets None, which refuses even an explicit prepare=True. Its own cursors
        # bind client-side and never prepare, so this only lets ours.
        pg.prepare_threshold = _NEVER_BY_COUNT
    # One psycopg cursor per connection, kept open for the next statement: a cursor
    # costs more to make than the statement costs psycopg to send.
    raw = getattr(connection, "_insert_together_cursor", None)
    if raw is None or raw.closed or raw.connection is not pg:
        raw = connection._insert_together_cursor = _preparing_cursor_class()(pg)
    return connection.make_cursor(raw), "$"


def insert_together(inserts: Sequence[Insert], *, using: str = "default") -> dict[str, list]:
    """Write every insert in one statement; give back the new primary keys of those
    with `returning`, by name, in the order of their instances (also set on them).

    Raises IntegrityError, with nothing written, when any row breaks a constraint.
    Inside a transaction it runs in a savepoint, so that the caller's transaction
    survives such an error as it would with `transaction.atomic()`.
    """
    connection = connections[using]
    inserts = [i for i in inserts if i.objs]
    key, params = _collect(inserts, connection)
    returning = [i for i in inserts if i.returning]
    savepoint = transaction.atomic(using=using) if connection.in_atomic_block else nullcontext()
    with savepoint:
        cursor, placeholders = _binding_cursor(connection)
        if placeholders == "$":
            # The kept cursor (above) stays open.
            cursor.execute(_statement(key, inserts, connection, placeholders), params)
            row = cursor.fetchone()
        else:
            with cursor:
                cursor.execute(_statement(key, inserts, connection, placeholders), params)
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
