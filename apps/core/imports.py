"""One pipeline for the file imports: the population roster (`apps.households.roster`)
and the department feeds (`apps.screening.feeds`).

An import is a model row with the uploaded file (`file`) and `status`, `total_rows`,
`processed_rows`, `error_count`, `errors`, `finished_at`, plus counts of its own. Its
Celery task (`run_task`) calls `Importer.run`:

1. **Claim**: one conditional UPDATE from waiting to running; only the run that
   changed the row goes on, so a second claim of the same import does nothing.
2. **Check** (outside any transaction, so the page sees the progress): the file is
   read as a stream, every row checked by the import's `row_checker` and staged in a
   TEMP table in batches (COPY on PostgreSQL, executemany on SQLite), the progress
   committed after each batch; then `check_staged` runs the checks that need all rows.
3. **Apply** (one transaction): unless a row was bad, the import's `apply` writes what
   the staged rows say and returns its counts. Any error and nothing is written: the
   import is refused with every error counted and the first ones kept, each with its
   row, column and reason.

Memory stays flat in the file size: rows go to the database in batches. The file holds
ID numbers in clear: it is deleted once the import has ended, also when `abort` ends it
after an unexpected error.
"""

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import InterfaceError, OperationalError, connection, models, transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.core import tabular
from apps.core.fields import protected_link

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 100 * 1024 * 1024


class Status(models.TextChoices):
    PENDING = "pending", gettext_lazy("waiting")
    RUNNING = "running", gettext_lazy("importing")
    FAILED = "failed", gettext_lazy("refused: see the errors")
    DONE = "done", gettext_lazy("imported")


class ImportedFile(models.Model):
    """One uploaded file and what became of it: the fields the Importer reads and
    writes. A subclass adds its region, its own counts and `file`'s folder."""

    file = models.FileField()
    original_name = models.CharField(gettext_lazy("file name"), max_length=200)
    sha256 = models.CharField(max_length=64, editable=False)
    status = models.CharField(
        gettext_lazy("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    total_rows = models.PositiveIntegerField(gettext_lazy("rows"), default=0)
    processed_rows = models.PositiveIntegerField(gettext_lazy("rows checked"), default=0)
    error_count = models.PositiveIntegerField(gettext_lazy("bad rows"), default=0)
    # The first errors, each {"row": n, "field": name, "message": text}.
    errors = models.JSONField(default=list, blank=True)
    uploaded_by = protected_link(settings.AUTH_USER_MODEL, gettext_lazy("uploaded by"))
    created_at = models.DateTimeField(gettext_lazy("uploaded at"), default=timezone.now)
    finished_at = models.DateTimeField(gettext_lazy("finished at"), null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def __str__(self):
        return self.original_name


class Importer:
    """One run of one import. A subclass declares what is its own: the model, the
    columns, how a row is checked and staged, the checks of all rows, the apply."""

    model: type[models.Model]
    related: tuple[str, ...] = ()  # select_related of the import row
    stage_table = ""
    stage_columns: tuple[str, ...] = ()  # "name type" of the TEMP table, rownum first
    stage_indexes: dict[str, str] = {}  # index name: columns
    temp_tables: tuple[str, ...] = ()  # further TEMP tables of `apply`, dropped at the end
    batch_rows = 10_000  # rows per COPY to the staging table and per progress update
    max_bytes_setting = ""

    def __init__(self, obj):
        self.obj = obj
        self.errors = tabular.Errors(headers=self.headers())
        self.source = obj.file.name.rpartition(".")[2]  # csv, xlsx or json (stored by us)
        self.encoding = ""

    # --- what each import declares ----------------------------------------------------

    def columns(self) -> Sequence[tabular.Column]:
        raise NotImplementedError

    def row_checker(self, found: dict[str, int]) -> Callable[[int, list], tuple | None]:
        """Checks one row (errors to `self.errors`); the tuple to stage, or None."""
        raise NotImplementedError

    def check_staged(self) -> None:
        """The checks that need all rows (after staging, before the transaction)."""

    def apply(self) -> dict[str, int]:
        """Write what the staged rows say (in the transaction, the import row locked);
        the counts to set on the import. May add errors: then nothing is kept."""
        raise NotImplementedError

    def applied(self) -> None:
        """After the transaction that applied the import committed."""

    def headers(self) -> dict[str, str]:
        return {c.key: c.header for c in self.columns()}

    def rows(self, fileobj) -> Iterator[tuple[int, list]]:
        return tabular.read_rows(fileobj, self.source, self.encoding)

    def map_columns(self, header: list) -> dict[str, int]:
        return tabular.map_headers(header, self.columns())

    @classmethod
    def max_bytes(cls) -> int:
        return getattr(settings, cls.max_bytes_setting, DEFAULT_MAX_BYTES)

    # --- the run --------------------------------------------------------------------------

    @classmethod
    def run(cls, pk: int, *, resume: bool = False):
        """Check and apply one import; None if this run could not claim it (another
        run has it, or it has ended). `resume` also takes over a running import, as a
        retry of its task does. An unexpected error propagates with the import still
        running and its file kept, so that the task can retry; `abort` ends it for good."""
        claimable = [Status.PENDING, Status.RUNNING] if resume else [Status.PENDING]
        claimed = cls.model.objects.filter(pk=pk, status__in=claimable).update(
            status=Status.RUNNING, processed_rows=0
        )
        if claimed != 1:
            return None
        importer = cls(cls.model.objects.select_related(*cls.related).get(pk=pk))
        with translation.override(settings.LANGUAGE_CODE):
            try:
                return importer._run()
            finally:
                drop_stages([cls.stage_table, *cls.temp_tables])

    def _run(self):
        if self.source != "json":
            with self.obj.file.open("rb") as fileobj:
                self.encoding, self.obj.total_rows = tabular.scan(fileobj, self.source)
            self.progress(0)
        rows = self._stage()
        if rows:
            self.check_staged()
        with transaction.atomic():
            locked = self.model.objects.select_for_update().get(pk=self.obj.pk)
            if locked.status != Status.RUNNING:
                return locked
            counts = {} if self.errors.count else self.apply()
            locked.total_rows = locked.processed_rows = rows
            locked.finished_at = timezone.now()
            locked.error_count = self.errors.count
            locked.errors = self.errors.report()
            locked.status = Status.FAILED if self.errors.count else Status.DONE
            for name, value in counts.items():
                setattr(locked, name, value)
            delete_file(locked)  # gone when the import is seen to have ended
            locked.save()
        if locked.status == Status.DONE:
            self.applied()
        return locked

    def _stage(self) -> int:
        """Read, check and stage every row; returns the number of rows."""
        drop_stages([self.stage_table])
        if is_postgres():
            # A county's file stages some 100 MB; the default 8 MB of buffers for
            # temporary tables would have the backend write most of it out and read it
            # back. (Only takes effect before the session's first temporary table.)
            sql("SET temp_buffers = '256MB'")
        sql(f"CREATE TEMP TABLE {self.stage_table} ({', '.join(self.stage_columns)})")
        names = [c.split()[0] for c in self.stage_columns]
        with self.obj.file.open("rb") as fileobj, closing(self.rows(fileobj)) as rows:
            found = self.map_columns(next(rows, (1, []))[1])
            missing = tabular.missing_columns(self.columns(), found)
            if missing:
                message = _("Columns missing: %(columns)s.") % {"columns": "、".join(missing)}
                self.errors.add(1, "", message)
                return 0
            check = self.row_checker(found)
            staged: list[tuple] = []
            count = 0
            try:
                for rownum, values in rows:
                    if values is not None and tabular.is_blank(values):
                        continue  # blank lines, as Excel leaves at the end
                    count += 1
                    row = check(rownum, values)
                    if row is not None:
                        staged.append(row)
                    if count % self.batch_rows == 0:
                        copy_rows(self.stage_table, names, staged)
                        staged = []
                        self.progress(count)
            except tabular.FileUnreadable as exc:
                self.errors.add(exc.row, "", exc.message)
        copy_rows(self.stage_table, names, staged)
        index_stage(self.stage_table, self.stage_indexes)
        self.progress(count)
        if count == 0 and not self.errors.count:
            self.errors.add(2, "", _("The file has no rows below the column names."))
        return count

    def progress(self, processed: int) -> None:
        # Autocommit: the page polling the progress sees it at once.
        obj = self.obj
        obj.processed_rows, obj.total_rows = processed, max(obj.total_rows, processed)
        self.model.objects.filter(pk=obj.pk).update(
            processed_rows=processed, total_rows=obj.total_rows
        )

    @classmethod
    def abort(cls, pk: int) -> None:
        """Mark a running import failed after an unexpected error (the task's last
        resort): nothing of it was applied."""
        with translation.override(settings.LANGUAGE_CODE):
            message = _(
                "The import stopped because of an internal error. Nothing was imported; "
                "upload the file again."
            )
        cls.model.objects.filter(pk=pk, status=Status.RUNNING).update(
            status=Status.FAILED,
            finished_at=timezone.now(),
            error_count=1,
            errors=[{"row": 0, "field": "", "message": message}],
        )
        obj = cls.model.objects.filter(pk=pk).first()
        if obj:
            delete_file(obj)


def queue(obj, content, extension: str, task):
    """Store an import's file and save it; its task runs after commit."""
    with transaction.atomic():
        # A name we choose: the client's name is for display only.
        obj.file.save(f"{uuid.uuid4().hex}.{extension}", content, save=False)
        obj.save()
        task.delay_on_commit(obj.pk)
    return obj


def delete_file(obj) -> None:
    """An import's file holds ID numbers in clear: gone once the import has run (the
    row keeps its counts and errors; `file` is emptied)."""
    name = obj.file.name
    if not name:
        return
    try:
        obj.file.storage.delete(name)
    except OSError:
        logger.warning("could not delete the file of %s %s", obj._meta.label, obj.pk)
    type(obj).objects.filter(pk=obj.pk).update(file="")
    obj.file.name = ""


# --- the Celery task -------------------------------------------------------------------

TASK_OPTIONS = {
    "bind": True,
    "acks_late": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 5,
    "max_retries": 3,
}


def run_task(task, importer: type[Importer], pk: int) -> str:
    """The body of an import's task (`@shared_task(**TASK_OPTIONS)`). A lost connection
    retries (the file stays until the import ends); anything else, or the last retry,
    fails the import so that its page stops waiting."""
    request = task.request
    resume = request.retries > 0 or bool((request.delivery_info or {}).get("redelivered"))
    try:
        obj = importer.run(pk, resume=resume)
    except (OperationalError, InterfaceError):
        if request.retries >= task.max_retries:
            importer.abort(pk)
        raise
    except Exception:
        importer.abort(pk)
        raise
    return obj.status if obj else "skipped"


# --- staging in TEMP tables -------------------------------------------------------------


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def sql(statement: str, params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def rows(statement: str, params=()) -> list:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall()


def drop_stages(names: Iterable[str]) -> None:
    for name in names:
        # Qualified, so that DROP never reaches a real table of the same name.
        sql(f"DROP TABLE IF EXISTS {'pg_temp' if is_postgres() else 'temp'}.{name}")


def copy_rows(table: str, columns: Sequence[str], batch: Sequence[tuple]) -> None:
    """Append rows to a staging table: COPY on PostgreSQL, executemany on SQLite."""
    if not batch:
        return
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        if is_postgres():
            with cursor.cursor.copy(f"COPY pg_temp.{table} ({names}) FROM STDIN") as copy:
                for row in batch:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            statement = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 — our stage
            cursor.executemany(statement, batch)


def index_stage(table: str, indexes: dict[str, str]) -> None:
    """Index a filled staging table (name: columns) and gather its statistics."""
    for name, columns in indexes.items():
        # PostgreSQL qualifies the table, SQLite the index.
        if is_postgres():
            sql(f"CREATE INDEX {name} ON pg_temp.{table} ({columns})")
        else:
            sql(f"CREATE INDEX temp.{name} ON {table} ({columns})")
    if is_postgres():
        sql(f"ANALYZE pg_temp.{table}")  # autovacuum never analyses temp tables


# --- the pages --------------------------------------------------------------------------

ACCEPT = ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class UploadForm(forms.Form):
    """An import's upload form: declares `file` and `inspect`; the file is inspected
    (`tabular.upload_inspect`) when the form is cleaned, the result in `inspected`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = ACCEPT
        self.inspected: tabular.InspectedUpload | None = None

    def inspect(self, upload) -> tabular.InspectedUpload | None:
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("file") is not None:
            try:
                self.inspected = self.inspect(cleaned["file"])
            except forms.ValidationError as exc:
                self.add_error("file", exc)
        return cleaned


def progress_json(obj) -> dict:
    """What static/js/roster_progress.js polls for an import's progress bar."""
    finished = obj.status in (Status.DONE, Status.FAILED)
    total = max(obj.total_rows, obj.processed_rows)
    percent = 100 if finished else (99 * obj.processed_rows // total if total else 0)
    return {
        "status": obj.status,
        "status_label": obj.get_status_display(),
        "processed_rows": obj.processed_rows,
        "total_rows": total,
        "percent": percent,
        "finished": finished,
    }


def template_response(columns: Sequence[tabular.Column], filename: str) -> HttpResponse:
    """The template of an import's file: its header row (`tabular.template_csv`)."""
    response = HttpResponse(tabular.template_csv(columns), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class ImportPages:
    """The pages of an import: the list with the upload form, the upload, one import's
    progress and result, and its progress JSON. A subclass declares the rest."""

    form_class: type[UploadForm]
    templates = ""  # the folder of list.html and detail.html (on imports/detail.html)
    namespace = ""  # of the URLs
    name = ""  # of the import in the detail template (also `obj`)

    def objects(self, request) -> models.QuerySet:
        """The imports the user may see."""
        raise NotImplementedError

    def list_context(self, request, form) -> dict:
        return {}

    def create(self, request, form):
        """Store the upload and queue its import; returns the import."""
        raise NotImplementedError

    def index(self, request, form=None, status=200):
        form = form or self.form_class(user=request.user)
        page = Paginator(self.objects(request), 30).get_page(request.GET.get("page"))
        context = {"page": page, "form": form, **self.list_context(request, form)}
        return render(request, f"{self.templates}/list.html", context, status=status)

    def upload(self, request):
        form = self.form_class(request.POST, request.FILES, user=request.user)
        if not form.is_valid():
            return self.index(request, form, status=400)
        return redirect(f"{self.namespace}:detail", pk=self.create(request, form).pk)

    def detail(self, request, pk: int):
        obj = get_object_or_404(self.objects(request), pk=pk)
        context = {
            self.name: obj,
            "obj": obj,
            "progress": progress_json(obj),
            "progress_url": reverse(f"{self.namespace}:progress", args=[pk]),
        }
        return render(request, f"{self.templates}/detail.html", context)

    def progress(self, request, pk: int):
        return JsonResponse(progress_json(get_object_or_404(self.objects(request), pk=pk)))

    def urls(self) -> list:
        def view(method, *decorators):
            for decorator in (*decorators, login_required):
                method = decorator(method)
            return method

        return [
            path("", view(self.index), name="list"),
            path("upload/", view(self.upload, require_POST), name="upload"),
            path("<int:pk>/", view(self.detail, never_cache), name="detail"),
            path("<int:pk>/progress/", view(self.progress, never_cache), name="progress"),
        ]
