"""Import jobs: accepting a file, running it in committed chunks, and recovering jobs whose worker died.

A job runs in chunks of `CHUNK_ROWS` rows. Each chunk is one transaction holding the rows' writes,
the rows' errors, the keys the rows named and the job's counters and `processed_rows`; so after a
crash the database says exactly which rows are done, and the next worker skips them.

Only the worker holding the job's latest `attempts` number commits: a chunk first locks the job
row and checks it, so a worker presumed dead that wakes up again stops instead of writing twice.

On PostgreSQL, a file of several chunks of agreements or engagements is checked a chunk ahead:
while a writing thread (with a connection of its own) writes and commits one chunk, this thread
reads, matches and validates the next, so the Python of the checks and the database's work of the
writes overlap (`_run_planning_ahead`).
"""

import datetime as dt
import hashlib
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from itertools import chain, islice, repeat
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    reset_queries,
    transaction,
)
from django.db.models import Q
from django.utils import timezone

from accounts.policy import home_city_ids, is_admin
from engagements import events
from utilities.sqlbulk import copy_into, copy_text, insert_values, refresh_statistics

from .kinds import CREATED, KINDS, UNCHANGED, UPDATED, Candidate, Kind, PlannedRows
from .models import ImportJob, ImportRowError, ImportSeenKey
from .readers import FileUnreadable, SourceRow, detect_format, open_reader, printable
from .rows import ImportContext, RowReader

log = logging.getLogger(__name__)

# Every write statement of a chunk pays a fixed cost (a round trip, the rollup triggers that run
# once per statement over its rows), so chunks are large; two of them in memory (one written, the
# next checked, its records loaded) keep a million-row import near 200 MB.
CHUNK_ROWS = 10_000
# A file this long changes the tables enough that plans made on the old statistics go bad.
ANALYZE_AFTER_ROWS = 50_000
Progress = Callable[[ImportJob], None]


def may_import_at_all(user) -> bool:
    """Admins, and staff with at least one home city; everyone else has nothing to import."""
    return is_admin(user) or bool(home_city_ids(user))


def create_job(*, owner, upload, kind: str, dry_run: bool = False, enqueue: bool = True) -> ImportJob:
    """Store an uploaded file as a queued job and, once committed, hand it to a worker.

    `upload` is a Django File (an UploadedFile or `File(open(path, "rb"))`). Raises
    PermissionDenied, or ValidationError naming the `file` or `kind` field.
    """
    if not may_import_at_all(owner):
        raise PermissionDenied("Only city staff and administrators import files.")
    if kind not in KINDS:
        raise ValidationError({"kind": [f"Choose one of: {', '.join(KINDS)}."]})
    if kind == ImportJob.Kind.CITIES and not is_admin(owner):
        raise ValidationError({"kind": ["Cities are reference data: only administrators import them."]})
    size = upload.size
    if size > settings.IMPORT_MAX_FILE_BYTES:
        raise ValidationError(
            {
                "file": [
                    f"The file is {size / 2**20:,.1f} MB; the limit is {settings.IMPORT_MAX_FILE_BYTES / 2**20:,.0f} MB."
                ]
            }
        )
    if size == 0:
        raise ValidationError({"file": ["The file is empty."]})
    digest = hashlib.sha256()
    head = b""
    for piece in upload.chunks():
        head = head or piece[:8]
        digest.update(piece)
    try:
        file_format = detect_format(upload.name, head)
    except FileUnreadable as error:
        raise ValidationError({"file": [str(error)]}) from error
    sha256 = digest.hexdigest()
    if not dry_run:
        running = ImportJob.objects.filter(file_sha256=sha256, status__in=ImportJob.ACTIVE, dry_run=False).first()
        if running is not None:
            raise ValidationError({"file": [f"This file is already being imported (import #{running.pk})."]})
    name = PurePath(upload.name or "upload").name
    job = ImportJob(
        kind=kind,
        format=file_format,
        original_name=name[:255],
        file_size=size,
        file_sha256=sha256,
        dry_run=dry_run,
        owner=owner,
    )
    upload.seek(0)
    job.file.save(f"{uuid.uuid4().hex}{PurePath(name).suffix.lower()[:10]}", upload, save=False)
    try:
        with transaction.atomic():
            job.save()
            if enqueue:
                _enqueue(job.pk)
    except IntegrityError as error:
        job.file.delete(save=False)
        raise ValidationError({"file": ["This file is already being imported."]}) from error
    return job


def _enqueue(job_id: int) -> None:
    from .tasks import run_import

    run_import.delay_on_commit(job_id)


@dataclass
class Parsed:
    """One chunk read: the rows that parsed, and the problems of those that did not."""

    size: int
    candidates: list[Candidate] = field(default_factory=list)
    rejected: list[tuple[int, list]] = field(default_factory=list)


# --- running ------------------------------------------------------------------------------------


def run_job(job_id: int, *, progress: Progress | None = None) -> ImportJob:
    """Claim the job and run it to the end, resuming after its last committed chunk."""
    attempt = _claim(job_id)
    job = ImportJob.objects.select_related("owner").get(pk=job_id)
    if attempt is None:
        return job
    try:
        _run(job, attempt, progress)
    except (OperationalError, InterfaceError):
        # The database went away: the job stays `running`, and the sweep resumes it.
        raise
    except FileUnreadable as error:
        _finish(job.pk, attempt, ImportJob.Status.FAILED, str(error))
    except Exception as error:
        log.exception("Import %s stopped on an unexpected error", job_id)
        _finish(
            job.pk,
            attempt,
            ImportJob.Status.FAILED,
            f"The import stopped on an unexpected error ({type(error).__name__}).",
        )
    job.refresh_from_db()
    return job


def _run(job: ImportJob, attempt: int, progress: Progress | None) -> None:
    kind = KINDS[job.kind]
    with job.file.open("rb") as handle:
        reader = open_reader(handle, job.format, job.kind)
        total = _survey(reader, job, kind, attempt)
        if job.total_rows != total:
            ImportJob.objects.filter(pk=job.pk, attempts=attempt).update(total_rows=total)
            job.total_rows = total
        if progress:
            progress(job)
        context = ImportContext(actor=job.owner, columns=reader.columns)
        # Closed while the file is still open, however the loop ends.
        ahead = _plans_ahead(job, kind, total)
        with closing(iter(reader)) as source:
            chunks = _chunks(
                islice(source, job.processed_rows, None), _growing(CHUNK_ROWS) if ahead else repeat(CHUNK_ROWS)
            )
            with closing(parse_rows(chunk, kind, context) for chunk in chunks) as parsed:
                if ahead:
                    finished = _run_planning_ahead(job, attempt, parsed, kind, context, progress)
                else:
                    finished = _run_in_turn(job, attempt, parsed, kind, context, progress)
        if not finished:
            return
    if not job.dry_run and total >= ANALYZE_AFTER_ROWS:
        refresh_statistics(kind.models)
    _finish(job.pk, attempt, ImportJob.Status.SUCCEEDED)


def _run_in_turn(job, attempt, parsed: Iterable[Parsed], kind, context, progress) -> bool:
    """Each chunk read, checked and written in its transaction, one after the other. False when
    the attempt was superseded."""
    for chunk in parsed:
        if not _commit_chunk(job, attempt, chunk, kind, context):
            return False
        if progress:
            progress(job)
    return True


def _plans_ahead(job: ImportJob, kind: Kind, total: int) -> bool:
    """Whether to check each chunk while the one before it is written (`_run_planning_ahead`):
    for a file of several chunks of agreements or engagements written on PostgreSQL. A writing
    thread has a connection of its own, which sees nothing of an open transaction's (a test's),
    and SQLite has one writer at a time anyway."""
    return (
        kind.plans_ahead
        and not job.dry_run
        and total - job.processed_rows > CHUNK_ROWS
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
    )


@dataclass(eq=False)
class _Checked:
    """A chunk sifted and planned outside its transaction (`_check_ahead`), not yet written."""

    parsed: Parsed
    tally: "_Tally"
    fresh: list[Candidate]
    planned: PlannedRows
    # The natural keys its rows name first (no committed chunk named them), each with its row.
    first_rows: dict[int, int]
    # Its rows' keys as the job remembers them (`_remember`), as COPY text.
    seen_keys: str = ""
    # What its write announced, kept at its commit for this thread to send (`_commit_checked`).
    announced: events.Held = field(default_factory=events.Held)


def _run_planning_ahead(job, attempt, parsed: Iterable[Parsed], kind, context, progress) -> bool:
    """The chunks in turn, each checked (read, parsed, matched to its records, validated) by this
    thread while a writing thread writes and commits the one before: the checks are Python and
    the writes mostly PostgreSQL, so the two overlap. A chunk is checked against committed data
    and the chunk being written (a key it names again is a duplicate row); the writer, holding
    the natural keys' locks, makes sure no other writer created or changed its records since,
    and if one did, that chunk and the rest are done in turn instead. False when the attempt was
    superseded."""
    chunks = iter(parsed)
    writing: tuple[Future, _Checked] | None = None
    # What the last chunk written announced (the chunk itself is let go: a third chunk in memory
    # would raise the import's peak by half), sent by this thread once the writer has the next
    # chunk (the receivers' queries then overlap its writes), or as this loop ends.
    announced: events.Held | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"import-{job.pk}") as writer:
        try:
            while True:
                chunk = next(chunks, None)
                checked = None
                if chunk is not None:
                    checked = _check_ahead(job, chunk, kind, context, writing[1].first_rows if writing else {})
                    reset_queries()
                if writing is not None:
                    result = writing[0].result()
                    announced = writing[1].announced
                    if result is _SUPERSEDED:
                        return False
                    if result is _CONFLICT:
                        again = [writing[1].parsed] + ([chunk] if chunk is not None else [])
                        return _run_in_turn(job, attempt, chain(again, chunks), kind, context, progress)
                    if progress:
                        progress(job)
                if checked is None:
                    return True
                writing = (writer.submit(_commit_checked, job, attempt, checked, kind), checked)
                if announced is not None:
                    announced.send()
        finally:
            # Queued after any chunk still being written: once it ran, that chunk is done too.
            writer.submit(_close_connection).result()
            # Committed is committed, even when this thread failed after: its events go out.
            for held in (announced, writing[1].announced if writing is not None else None):
                if held is not None:
                    held.send()
            if writing is not None and writing[0].exception() is not None:
                # Unread when this thread failed first: the writer's own failure, logged at least.
                log.error("Import %s: writing a chunk failed", job.pk, exc_info=writing[0].exception())


def _close_connection() -> None:
    """Close the calling thread's own connection (`connection` is a per-thread proxy)."""
    connection.close()


_WRITTEN, _SUPERSEDED, _CONFLICT = "written", "superseded", "conflict"


class _Conflict(Exception):
    """Another writer created or changed a record of the chunk since it was planned."""


def _check_ahead(job, parsed: Parsed, kind: Kind, context, being_written: dict[int, int]) -> _Checked:
    tally = _Tally(job)
    fresh, first_rows = _sift(job, parsed, tally, being_written)
    planned = kind.plan(fresh, context)
    # Made here, so the writing thread only sends them.
    kind.prepare(planned)
    seen_keys = copy_text(_seen_rows(job, fresh))
    return _Checked(parsed, tally, fresh, planned, first_rows, seen_keys=seen_keys)


def _commit_checked(job: ImportJob, attempt: int, checked: _Checked, kind: Kind) -> str:
    """In the writing thread: the chunk's transaction, as `_commit_chunk`'s, with the plan made
    beforehand; what it announces is kept in `checked.announced` for the job's thread to send.
    Returns _WRITTEN, _SUPERSEDED or _CONFLICT (nothing written)."""
    try:
        with events.holding() as held, transaction.atomic():
            current = _lock_job(job, attempt)
            if current is None:
                return _SUPERSEDED
            copy_into(ImportSeenKey, SEEN_KEY_COLUMNS, checked.seen_keys)
            lock_natural_keys(job.kind, [candidate.digest for candidate in checked.fresh])
            if not kind.still_current(checked.planned):
                raise _Conflict
            checked.tally.add(checked.fresh, kind.write(checked.planned))
            _save_progress(job, current, checked.parsed.size, checked.tally)
        checked.announced = held
    except _Conflict:
        log.info("Import %s: records changed while a chunk was checked; writing the rest in turn", job.pk)
        return _CONFLICT
    finally:
        reset_queries()
    return _WRITTEN


SURVEY_HEARTBEAT_ROWS = 20_000


def _survey(reader, job: ImportJob, kind: Kind, attempt: int) -> int:
    """Read the whole file once before writing anything, so that a file that cannot be read
    fails as a whole (and is never half imported), and the total is known for the progress bar."""
    total = 0
    for _ in reader.survey():
        total += 1
        if total % SURVEY_HEARTBEAT_ROWS == 0:
            # A long file is still being read: the worker is alive.
            ImportJob.objects.filter(pk=job.pk, attempts=attempt).update(heartbeat_at=timezone.now())
        if total == 1 and job.format != ImportJob.Format.JSON:
            _check_columns(reader.columns, kind, job)
        if total > settings.IMPORT_MAX_ROWS:
            raise FileUnreadable(
                f"The file has more than {settings.IMPORT_MAX_ROWS:,} rows: split it into several files."
            )
    if total or job.format != ImportJob.Format.JSON:
        _check_columns(reader.columns, kind, job)
    return total


def unknown_column_warnings(columns: list[str], kind: Kind) -> list[str]:
    """SPEC §6: a column the kind does not know is ignored and named once in the warnings."""
    known = set(kind.columns)
    unknown = dict.fromkeys(column for column in columns if column and column not in known)
    return [f"The column “{printable(column)}” is not a column of {kind.name}; it was ignored." for column in unknown]


def _check_columns(columns: list[str], kind: Kind, job: ImportJob) -> None:
    named = [column for column in columns if column]
    # Counted once (linear): a wide header must not cost its width squared.
    repeated = sorted(column for column, times in Counter(named).items() if times > 1)
    if repeated:
        raise FileUnreadable(f"The column(s) {', '.join(repeated)} appear more than once in the header.")
    warnings = unknown_column_warnings(named, kind)
    if warnings != job.warnings:
        # Set, not appended: a resumed job surveys the file again and finds the same columns.
        ImportJob.objects.filter(pk=job.pk).update(warnings=warnings)
        job.warnings = warnings
    missing = [column for column in kind.required if column not in named]
    if missing:
        raise FileUnreadable(
            f"Missing required column(s): {', '.join(missing)}. An import of {kind.name} needs: {', '.join(kind.required)}."
        )


def _chunks(rows: Iterable[SourceRow], sizes: Iterable[int]) -> Iterator[list[SourceRow]]:
    iterator = iter(rows)
    for size in sizes:
        chunk = list(islice(iterator, size))
        if not chunk:
            return
        yield chunk


# Checked ahead, the writing thread waits for the first chunk's check: the first chunks are
# smaller (an eighth of the size, doubling), so it starts sooner and each check stays ahead of
# the write it feeds (a second off a 100,000-row import). Chunks of fewer rows do not shrink.
GROWING_FROM_ROWS = 1000


def _growing(size: int) -> Iterator[int]:
    current = max(size // 8, min(size, GROWING_FROM_ROWS))
    while current < size:
        yield current
        current *= 2
    yield from repeat(size)


def _claim(job_id: int) -> int | None:
    """Take the job if it is queued, or running with a dead worker; the attempt number returned is
    the caller's right to commit. None when someone else has it or it is finished."""
    now = timezone.now()
    stale = now - dt.timedelta(seconds=settings.IMPORT_STALE_AFTER_SECONDS)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            return None
        dead = job.status == ImportJob.Status.RUNNING and (job.heartbeat_at is None or job.heartbeat_at < stale)
        if not (job.status == ImportJob.Status.QUEUED or dead):
            return None
        if job.attempts >= settings.IMPORT_MAX_ATTEMPTS:
            _give_up(job)
            return None
        job.attempts += 1
        job.status = ImportJob.Status.RUNNING
        job.heartbeat_at = now
        job.started_at = job.started_at or now
        job.save(update_fields=["attempts", "status", "heartbeat_at", "started_at"])
        return job.attempts


def _give_up(job: ImportJob) -> None:
    job.status = ImportJob.Status.FAILED
    job.finished_at = timezone.now()
    job.message = (
        f"The import was started {job.attempts} times and its worker stopped each time; it was abandoned after "
        f"{job.processed_rows:,} of {job.total_rows or 0:,} rows (those rows are imported). Upload the file again to finish."
    )
    job.save(update_fields=["status", "finished_at", "message"])
    ImportSeenKey.objects.filter(job_id=job.pk).delete()


def _commit_chunk(job: ImportJob, attempt: int, rows: Parsed, kind: Kind, context: ImportContext) -> bool:
    with transaction.atomic():
        current = _lock_job(job, attempt)
        if current is None:
            return False
        tally = process_rows(job, rows, kind, context)
        _save_progress(job, current, rows.size, tally)
    # With DEBUG on (the command on a laptop) Django keeps the last 9,000 queries' SQL; a long
    # import would carry a hundred megabytes of it.
    reset_queries()
    return True


def _lock_job(job: ImportJob, attempt: int) -> ImportJob | None:
    """The job's row, locked for the chunk's transaction; None when this attempt no longer owns it."""
    current = ImportJob.objects.select_for_update().get(pk=job.pk)
    if current.attempts != attempt or current.status != ImportJob.Status.RUNNING:
        log.warning("Import %s: attempt %s superseded; stopping", job.pk, attempt)
        return None
    return current


def _save_progress(job: ImportJob, current: ImportJob, size: int, tally: "_Tally") -> None:
    """The chunk's counts and errors, in its transaction, and on `job` for the caller."""
    current.processed_rows += size
    current.created += tally.counts[CREATED]
    current.updated += tally.counts[UPDATED]
    current.unchanged += tally.counts[UNCHANGED]
    current.error_count += tally.counts["error"]
    current.heartbeat_at = timezone.now()
    current.save(update_fields=["processed_rows", "created", "updated", "unchanged", "error_count", "heartbeat_at"])
    ImportRowError.objects.bulk_create(tally.errors)
    for name in ("processed_rows", "created", "updated", "unchanged", "error_count"):
        setattr(job, name, getattr(current, name))


def parse_rows(rows: list[SourceRow], kind: Kind, context: ImportContext) -> Parsed:
    """Read and check each row alone; nothing here looks at or writes the records."""
    parsed = Parsed(len(rows))
    known = set(kind.columns)
    for source in rows:
        if any(column and column not in known for column in source.values) or any(
            column and column not in known for column, _, _ in source.problems
        ):
            # A column the kind does not know is ignored, cell problems and all (SPEC §6).
            source = SourceRow(
                source.number,
                {column: value for column, value in source.values.items() if not column or column in known},
                [problem for problem in source.problems if not problem[0] or problem[0] in known],
            )
        if source.problems and not source.values:
            # Nothing readable (a JSON item that is not an object): report that alone.
            parsed.rejected.append((source.number, source.problems))
            continue
        row = RowReader(source, context)
        candidate = kind.parse(row)
        if candidate is None:
            parsed.rejected.append((source.number, row.problems))
        else:
            parsed.candidates.append(candidate)
    return parsed


class _Tally:
    """A chunk's counts by outcome, and its rows' error records."""

    def __init__(self, job: ImportJob):
        self.job = job
        self.counts = {CREATED: 0, UPDATED: 0, UNCHANGED: 0, "error": 0}
        self.errors: list[ImportRowError] = []

    def reject(self, row: int, problems) -> None:
        self.counts["error"] += 1
        self.errors.extend(
            ImportRowError(job=self.job, row=row, column=column, value=value, message=message)
            for column, value, message in problems
        )

    def add(self, candidates: list[Candidate], outcomes) -> None:
        for candidate, outcome in zip(candidates, outcomes, strict=True):
            if outcome.result == "error":
                self.reject(candidate.row, outcome.problems)
            else:
                self.counts[outcome.result] += 1


def process_rows(job: ImportJob, rows: list[SourceRow] | Parsed, kind: Kind, context: ImportContext) -> _Tally:
    """Parse (unless parsed already), de-duplicate and apply one chunk, in the caller's
    transaction; returns its counts and error records."""
    parsed = rows if isinstance(rows, Parsed) else parse_rows(rows, kind, context)
    tally = _Tally(job)
    fresh, _ = _sift(job, parsed, tally)
    _remember(job, fresh)
    if not job.dry_run:
        lock_natural_keys(job.kind, [candidate.digest for candidate in fresh])
    tally.add(fresh, kind.apply(fresh, context, dry_run=job.dry_run))
    return tally


def _sift(
    job: ImportJob, parsed: Parsed, tally: _Tally, being_written: dict[int, int] | None = None
) -> tuple[list[Candidate], dict[int, int]]:
    """The chunk's rows that name a record no earlier row named (those rejected into `tally`),
    and the first row naming each key. Earlier rows are those of the chunk itself, of committed
    chunks (the job's seen keys) and of `being_written` (a chunk not committed yet: key -> row)."""
    for number, problems in parsed.rejected:
        tally.reject(number, problems)
    first_row: dict[int, int] = {}
    for candidate in parsed.candidates:
        first_row.setdefault(candidate.digest, candidate.row)
    seen = ImportSeenKey.objects.filter(job_id=job.pk, digest__any_of=first_row)
    earlier = dict(seen.values_list("digest", "row"))
    if being_written:
        earlier.update((digest, being_written[digest]) for digest in first_row if digest in being_written)
    fresh = []
    for candidate in parsed.candidates:
        seen_at = earlier.get(candidate.digest, first_row[candidate.digest])
        if seen_at != candidate.row:
            column = "external_id" if "external_id" in candidate.key else ""
            tally.reject(
                candidate.row,
                [
                    (
                        column,
                        candidate.raw.get(column, ""),
                        f"This row names the same record as row {seen_at}; a record may appear only once in a file.",
                    )
                ],
            )
        else:
            fresh.append(candidate)
    return fresh, {digest: row for digest, row in first_row.items() if digest not in earlier}


SEEN_KEY_COLUMNS = ["job_id", "digest", "row"]


def _remember(job: ImportJob, fresh: list[Candidate]) -> None:
    """The keys these rows named, so a later chunk (or a resumed run) knows them."""
    insert_values(ImportSeenKey, SEEN_KEY_COLUMNS, _seen_rows(job, fresh), returning=False)


def _seen_rows(job: ImportJob, fresh: list[Candidate]) -> list[tuple[int, int, int]]:
    return [(job.pk, candidate.digest, candidate.row) for candidate in fresh]


# Natural keys are locked by bucket: at most this many advisory locks per chunk, well inside
# PostgreSQL's shared lock table, while two imports of different records rarely share one.
KEY_LOCK_BUCKETS = 64


def lock_natural_keys(kind: str, digests: Iterable[int]) -> None:
    """Serialise, until this transaction ends, every import writing records of these natural keys
    (SPEC §6: two jobs importing the same records at once create each record once). Taken before
    the chunk looks its records up (or, checked ahead, looks them up again), so the second job
    finds what the first created. The locks are taken in one order, so two chunks never wait on
    each other in a cycle. SQLite has one writer at a time anyway."""
    if connection.vendor != "postgresql":
        return
    base = int.from_bytes(hashlib.blake2b(f"import:{kind}".encode(), digest_size=4).digest(), "big") << 16
    buckets = sorted({base + digest % KEY_LOCK_BUCKETS for digest in digests})
    if buckets:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_advisory_xact_lock(bucket)) FROM (SELECT unnest(%s::bigint[]) AS bucket ORDER BY 1) AS b",
                [buckets],
            )


def _finish(job_id: int, attempt: int, status: str, message: str = "") -> None:
    # The message may quote the file; PostgreSQL text holds neither NUL nor a lone surrogate.
    message = printable(message)
    now = timezone.now()
    with transaction.atomic():
        finished = ImportJob.objects.filter(pk=job_id, attempts=attempt, status=ImportJob.Status.RUNNING).update(
            status=status, message=message, finished_at=now, heartbeat_at=now
        )
        if finished:
            ImportSeenKey.objects.filter(job_id=job_id).delete()


# --- recovery -----------------------------------------------------------------------------------


def resume_stalled_jobs(*, stale_after: float | None = None) -> list[int]:
    """Hand every job whose worker went quiet to a new worker (or give it up after
    IMPORT_MAX_ATTEMPTS), and re-send jobs queued so long that their message was probably lost.
    Returns the ids re-enqueued. Run periodically by Celery beat."""
    seconds = settings.IMPORT_STALE_AFTER_SECONDS if stale_after is None else stale_after
    now = timezone.now()
    cutoff = now - dt.timedelta(seconds=seconds)
    stalled = ImportJob.objects.filter(
        Q(status=ImportJob.Status.RUNNING, heartbeat_at__lt=cutoff)
        | Q(status=ImportJob.Status.QUEUED, heartbeat_at__lt=cutoff)
        | Q(status=ImportJob.Status.QUEUED, heartbeat_at__isnull=True, created_at__lt=cutoff)
    )
    resumed = []
    for job in stalled:
        with transaction.atomic():
            same = ImportJob.objects.filter(pk=job.pk, status=job.status, heartbeat_at=job.heartbeat_at)
            if job.status == ImportJob.Status.RUNNING and job.attempts >= settings.IMPORT_MAX_ATTEMPTS:
                locked = same.select_for_update().first()
                if locked is not None:
                    _give_up(locked)
                continue
            if same.update(status=ImportJob.Status.QUEUED, heartbeat_at=now):
                log.warning("Import %s: no heartbeat since %s; re-enqueued", job.pk, job.heartbeat_at)
                _enqueue(job.pk)
                resumed.append(job.pk)
    return resumed


# --- reading the report ---------------------------------------------------------------------------


def error_report_rows(job: ImportJob) -> Iterator[list[str]]:
    yield ["row", "column", "value", "message"]
    errors = job.row_errors.order_by("row", "id").values_list("row", "column", "value", "message")
    for row, column, value, message in errors.iterator(chunk_size=2000):
        # The CSV writer guards every cell against formulas.
        yield [str(row), column, value, message]
