"""The web console in real headless Chromium (Debian's ``chromium`` package, driven by Playwright with
``executable_path``; Playwright's own browser download is never used), against a running ``sagelocal serve``:
a completed, a failed and a running job (whose page updates without a reload), the metric charts, escaping,
the job list's filters, and a real training job watched to the end. Each test saves screenshots in its tmp dir.

Skipped, with the reason, only where no chromium or no Playwright is installed; ``.ci/run`` installs both.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.builders import make_request
from support.console_jobs import JobWriter, rmse_rounds, round_line
from support.server_fixture import Server, breast_cancer_csv

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("SAGELOCAL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no chromium at {CHROMIUM}: apt-get install chromium (as .ci/run does)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (the dev extra)"
    )
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == []  # no script error on any page


@pytest.fixture(scope="module")
def writer(sagelocal_server: Server) -> JobWriter:
    return JobWriter(sagelocal_server.home)


def _job_url(server: Server, name: str) -> str:
    return f"{server.url}/_console/training-jobs/{name}"


def _series(page: Any) -> list[tuple[str, int]]:
    """(metric, points) of each polyline of the job page's charts."""
    return page.eval_on_selector_all(
        "svg.metric-chart polyline.series",
        "lines => lines.map(l => [l.dataset.metric, l.getAttribute('points').trim().split(' ').length])",
    )


def test_completed_job_page(sagelocal_server: Server, writer: JobWriter, page: Any, tmp_path: Path) -> None:
    values = writer.completed_job("web-done", rounds=12)
    page.goto(_job_url(sagelocal_server, "web-done"))
    assert page.inner_text("h1.job-name") == "web-done"
    assert page.inner_text("#job-status") == "Completed"
    assert page.eval_on_selector_all("table.transitions tbody tr", "rows => rows.length") == 6
    assert page.inner_text("table.transitions tbody tr:last-child td:last-child") == "Training job completed"
    assert [tuple(s) for s in _series(page)] == [("train:rmse", 12), ("validation:rmse", 12)]
    assert page.eval_on_selector_all(".legend-name", "names => names.map(n => n.textContent)") == [
        "train:rmse",
        "validation:rmse",
    ]
    final = page.eval_on_selector_all(
        "table.final-metrics tbody tr",
        "rows => rows.map(r => [r.cells[0].textContent, r.cells[1].textContent])",
    )
    assert final == [[name, str(value)] for name, value in values[-1].items()]
    assert page.locator("svg.metric-chart").first.bounding_box()["width"] > 300
    page.screenshot(path=str(tmp_path / "console-job-completed.png"), full_page=True)
    assert (tmp_path / "console-job-completed.png").stat().st_size > 10_000


def test_failed_job_page_shows_failure_reason(
    sagelocal_server: Server, writer: JobWriter, page: Any, tmp_path: Path
) -> None:
    writer.create("web-failed")
    stream = writer.start_training("web-failed")
    writer.log(stream, "[2026-12-02:14:00:00:ERROR] Customer Error: Unable to parse the label column 'abc'")
    reason = "ClientError: Unable to parse the label column 'abc'"
    writer.fail("web-failed", reason)
    page.goto(_job_url(sagelocal_server, "web-failed"))
    assert page.inner_text("#job-status") == "Failed"
    assert page.inner_text("#failure-reason") == reason
    assert page.is_visible("#failure-reason")
    assert page.inner_text("ol.log li .msg") == (
        "[2026-12-02:14:00:00:ERROR] Customer Error: Unable to parse the label column 'abc'"
    )
    page.screenshot(path=str(tmp_path / "console-job-failed.png"), full_page=True)


def test_running_job_updates_without_reload(
    sagelocal_server: Server, writer: JobWriter, page: Any, tmp_path: Path
) -> None:
    values = rmse_rounds(8)
    writer.create("web-running")
    stream = writer.start_training("web-running")
    writer.log_rounds(stream, values[:3])
    page.goto(_job_url(sagelocal_server, "web-running"))
    page.evaluate("window.__marker = 'same document'")
    assert page.inner_text("#job-status") == "InProgress"
    assert page.inner_text("#secondary-status") == "Training"
    assert [tuple(s) for s in _series(page)] == [("train:rmse", 3), ("validation:rmse", 3)]
    page.screenshot(path=str(tmp_path / "console-job-running.png"), full_page=True)

    writer.log_rounds(stream, values[3:6], start=3)
    page.wait_for_function(
        "() => document.querySelector('polyline.series').getAttribute('points').split(' ').length == 6",
        timeout=20_000,
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('ol.log .msg')].some(m => m.textContent.startsWith('[5]'))",
        timeout=20_000,
    )
    writer.log_rounds(stream, values[6:], start=6)
    writer.complete("web-running", values)
    page.wait_for_function(
        "() => document.querySelector('#job-status').textContent.trim() == 'Completed'", timeout=20_000
    )
    assert [tuple(s) for s in _series(page)] == [("train:rmse", 8), ("validation:rmse", 8)]
    page.wait_for_function("() => document.querySelectorAll('ol.log li').length == 8", timeout=20_000)
    assert page.eval_on_selector_all("ol.log .msg", "ms => ms.map(m => m.textContent)") == [
        round_line(i, v) for i, v in enumerate(values)
    ]
    # the same document all along: updated in place, never reloaded
    assert page.evaluate("window.__marker") == "same document"
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert page.inner_text("#model-artifacts") == "s3://bucket/out/web-running/output/model.tar.gz"
    assert page.get_attribute("#model-artifacts a", "href") == (
        "/_console/s3/bucket/object?key=out%2Fweb-running%2Foutput%2Fmodel.tar.gz"
    )
    page.screenshot(path=str(tmp_path / "console-job-running-then-completed.png"), full_page=True)


def test_user_strings_are_shown_as_text_never_run(
    sagelocal_server: Server, writer: JobWriter, page: Any, tmp_path: Path
) -> None:
    writer.create("web-escape", HyperParameters={"note": XSS, "num_round": "3"})
    stream = writer.start_training("web-escape")
    writer.log(stream, XSS)
    page.goto(_job_url(sagelocal_server, "web-escape"))
    page.wait_for_timeout(2500)  # past one poll of the live fragment and of the log
    assert page.evaluate("window.__xss") is None
    cells = page.eval_on_selector_all(
        "table.hyperparameters tbody tr",
        "rows => rows.map(r => [r.cells[0].textContent, r.cells[1].textContent])",
    )
    assert cells == [["note", XSS], ["num_round", "3"]]
    assert page.inner_text("ol.log li .msg") == XSS
    assert page.eval_on_selector_all("main script, main img", "els => els.length") == 0
    page.goto(f"{sagelocal_server.url}/_console/training-jobs?name=web-escape")
    assert page.evaluate("window.__xss") is None


def test_job_list_filters_and_sparklines(
    sagelocal_server: Server, writer: JobWriter, page: Any, tmp_path: Path
) -> None:
    writer.completed_job("list-done-a", rounds=6)
    writer.completed_job("list-done-b", rounds=6)
    writer.create("list-failed")
    writer.fail("list-failed", "ClientError: no data")
    page.goto(f"{sagelocal_server.url}/_console/training-jobs")
    page.fill("input[name=name]", "LIST-")
    page.select_option("select[name=status]", "Completed")
    page.click("form.filters button")
    page.wait_for_url("**/_console/training-jobs?name=LIST-&status=Completed")
    names = page.eval_on_selector_all("#job-rows tr", "rows => rows.map(r => r.dataset.job)")
    assert names == ["list-done-b", "list-done-a"]
    assert page.eval_on_selector_all("#job-rows svg.sparkline polyline", "ls => ls.length") == 2
    assert page.inner_text("#job-rows tr:first-child td.objective .metric-name") == "validation:rmse"
    page.screenshot(path=str(tmp_path / "console-job-list.png"), full_page=True)
    page.click("text=list-done-b")
    page.wait_for_url("**/_console/training-jobs/list-done-b")
    assert page.inner_text("#job-status") == "Completed"


@pytest.mark.slow
def test_a_real_training_job_watched_to_the_end(sagelocal_server: Server, page: Any, tmp_path: Path) -> None:
    s3 = sagelocal_server.client("s3")
    s3.create_bucket(Bucket="bucket")
    rows = breast_cancer_csv().splitlines(keepends=True)
    s3.put_object(Bucket="bucket", Key="web/train/train.csv", Body=b"".join(rows[:400]))
    s3.put_object(Bucket="bucket", Key="web/validation/validation.csv", Body=b"".join(rows[400:]))
    request = make_request(
        "web-real",
        {"train": "s3://bucket/web/train", "validation": "s3://bucket/web/validation"},
        num_round="20",
        eval_metric="auc",
    )
    sagelocal_server.client("sagemaker").create_training_job(**request)
    page.goto(_job_url(sagelocal_server, "web-real"))
    page.wait_for_function(
        "() => document.querySelector('#job-status').textContent.trim() == 'Completed'", timeout=180_000
    )
    assert [tuple(s) for s in _series(page)] == [("train:auc", 20), ("validation:auc", 20)]
    described = sagelocal_server.client("sagemaker").describe_training_job(TrainingJobName="web-real")
    final = page.eval_on_selector_all(
        "table.final-metrics tbody tr",
        "rows => rows.map(r => [r.cells[0].textContent, r.cells[1].textContent])",
    )
    assert final == [[m["MetricName"], str(m["Value"])] for m in described["FinalMetricDataList"]]
    # every line of the job's CloudWatch log, followed into the page after it loaded
    events = sagelocal_server.client("logs").filter_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="web-real/"
    )["events"]
    count = len(events)
    assert count > 20
    page.wait_for_function(f"() => document.querySelectorAll('ol.log li').length == {count}", timeout=20_000)
    assert page.eval_on_selector_all("ol.log .msg", "ms => ms.map(m => m.textContent)") == [
        e["message"] for e in events
    ]
    assert page.inner_text(".log-range") == f"Events 1–{count} of {count}"
    page.screenshot(path=str(tmp_path / "console-job-real.png"), full_page=True)
