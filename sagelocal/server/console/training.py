"""Training jobs: the list (filters, status, duration, a sparkline of the objective) and a job's page (status,
status history, settings, hyperparameters, input and output with links into the S3 browser and the model's
download, final metrics, one chart per metric, and the log with paging and follow).

The pages show the DescribeTrainingJob document the API would return (``documents.describe_document``) for
the job's stored record, as it is at that moment: the console does not reap a job whose worker died (that is a
write; the next API call does it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sagelocal.aws.refs import S3Uri
from sagelocal.server.console import charts
from sagelocal.server.console.series import Series, metric_series, objective_series
from sagelocal.server.console.web import Context, Section, route, url
from sagelocal.service.training.documents import describe_document
from sagelocal.service.training.store import JobRecord

SECTION = Section("Training jobs", "/training-jobs")
STATUSES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")
JOBS_PER_PAGE = 50
LOG_LINES_PER_PAGE = 200
FOLLOW_BATCH = 1000


def _duration_seconds(record: JobRecord) -> float:
    """From creation to the end (or now, while it runs), as the console's job list shows it."""
    if record.terminal:
        end = record.training_end_time or record.last_modified_time
    else:
        end = time.time()
    return max(0.0, end - record.creation_time)


@dataclass(frozen=True)
class JobRow:
    record: JobRecord
    duration: float
    objective: Series | None
    sparkline: str | None


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def _filters(request: Request) -> tuple[str, str, int]:
    status = request.query_params.get("status", "")
    return (
        status if status in STATUSES else "",
        request.query_params.get("name", "").strip(),
        max(0, _int(request.query_params.get("page"), 0)),
    )


def _rows(ctx: Context, status: str, name: str, page: int) -> tuple[list[JobRow], int]:
    """The page's jobs, newest first, with ListTrainingJobs' filters: ``StatusEquals`` and ``NameContains``
    (case-insensitive)."""
    records = [
        r
        for r in reversed(ctx.state.jobs.all())
        if (not status or r.status == status) and (not name or name.lower() in r.name.lower())
    ]
    rows = []
    for record in records[page * JOBS_PER_PAGE : (page + 1) * JOBS_PER_PAGE]:
        objective = objective_series(
            record.request, metric_series(record.request, ctx.state.job_log_messages(record.name))
        )
        rows.append(JobRow(record, _duration_seconds(record), objective, charts.sparkline(objective)))
    return rows, len(records)


def job_list(ctx: Context, request: Request, _: dict[str, str]) -> Response:
    status, name, page = _filters(request)
    rows, total = _rows(ctx, status, name, page)
    return ctx.page(
        "training_jobs.html",
        rows=rows,
        total=total,
        status=status,
        name=name,
        page=page,
        pages=max(1, -(-total // JOBS_PER_PAGE)),
        statuses=STATUSES,
        live_url=url("/fragments/training-jobs", status=status, name=name, page=page or None),
        spark=charts,
    )


def job_rows(ctx: Context, request: Request, _: dict[str, str]) -> Response:
    status, name, page = _filters(request)
    rows, _total = _rows(ctx, status, name, page)
    return ctx.fragment(
        "training_rows.html", final=all(r.record.terminal for r in rows), rows=rows, spark=charts
    )


# --- one job ----------------------------------------------------------------------------------------------


def _s3_links(uri: str) -> dict[str, str | None]:
    """``uri`` and where the S3 browser lists what starts with it."""
    try:
        bucket, key = S3Uri.parse(uri)
    except ValueError:
        return {"uri": uri, "browse": None}
    return {"uri": uri, "browse": url(f"/s3/{bucket}", prefix=key or None)}


def _download(ctx: Context, uri: str) -> str | None:
    """The console's download URL of the object ``uri``, or None while there is no such object."""
    try:
        bucket, key = S3Uri.parse(uri)
        ctx.objects.object_path(bucket, key)
    except Exception:  # not an s3 URI, no such bucket or key, unreadable: no link
        return None
    return url(f"/s3/{bucket}/object", key=key)


def _live_values(ctx: Context, record: JobRecord) -> dict[str, Any]:
    doc = describe_document(record)
    series = metric_series(record.request, ctx.state.job_log_messages(record.name))
    model = doc["ModelArtifacts"]["S3ModelArtifacts"]
    return {
        "job": doc,
        "record": record,
        "duration": _duration_seconds(record),
        "series": series,
        "charts": charts.metric_charts(series),
        "model": {"uri": model, "download": _download(ctx, model) if record.status == "Completed" else None},
    }


def job_page(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    record = ctx.state.jobs.get(params["name"])
    if record is None:
        return ctx.not_found(f"Training job {params['name']}")
    values = _live_values(ctx, record)
    doc = values["job"]
    log = ctx.state.job_log_page(
        record.name, _int(request.query_params.get("log_start"), -LOG_LINES_PER_PAGE), LOG_LINES_PER_PAGE
    )
    channels = [
        {
            "name": ch.get("ChannelName", ""),
            "content_type": ch.get("ContentType", ""),
            **_s3_links(((ch.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri", "")),
        }
        for ch in doc.get("InputDataConfig", [])
    ]
    return ctx.page(
        "training_job.html",
        **values,
        hyperparameters=sorted(doc["HyperParameters"].items()),
        channels=channels,
        output=_s3_links(doc["OutputDataConfig"].get("S3OutputPath", "")),
        log=log,
        log_per_page=LOG_LINES_PER_PAGE,
        log_on_last_page=log.start + len(log.events) >= log.total,
    )


def job_live(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    record = ctx.state.jobs.get(params["name"])
    if record is None:
        return ctx.not_found(f"Training job {params['name']}")
    return ctx.fragment("training_live.html", final=record.terminal, **_live_values(ctx, record))


def job_log(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    """The log lines after event ``after`` (a follower's next batch); ``X-Console-After`` is the new cursor."""
    record = ctx.state.jobs.get(params["name"])
    if record is None:
        return ctx.not_found(f"Training job {params['name']}")
    after = _int(request.query_params.get("after"), 0)
    events = ctx.state.job_log_after(record.name, after, FOLLOW_BATCH)
    cursor = events[-1].id if events else after
    # Final once the job has ended and this batch drained what it wrote.
    final = record.terminal and len(events) < FOLLOW_BATCH
    return ctx.fragment(
        "log_lines.html", final=final, headers={"X-Console-After": str(cursor)}, events=events
    )


ROUTES = [
    route(r"/training-jobs", job_list),
    route(r"/fragments/training-jobs", job_rows),
    route(r"/training-jobs/(?P<name>[^/]+)", job_page),
    route(r"/training-jobs/(?P<name>[^/]+)/live", job_live),
    route(r"/training-jobs/(?P<name>[^/]+)/log", job_log),
]
