"""The web console's pages, rendered by the server's app in-process over a state folder whose jobs are written
as a supervisor writes them (support.console_jobs): what each page shows, escaping, paging, read-only access.
The browser tests (test_console_browser.py) drive the same pages in Chromium against a running serve."""

from __future__ import annotations

import hashlib
import html
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from support.console_jobs import JobWriter, rmse_rounds, round_line

from sagelocal.server.app import create_app
from sagelocal.server.auth import Verifier
from sagelocal.server.console.charts import metric_charts
from sagelocal.server.console.series import metric_series, objective_series
from sagelocal.server.credentials import Credentials
from sagelocal.service.hosting.store import HostingStore
from sagelocal.service.readonly import ReadOnlyDatabase, ReadOnlyDatabaseError, ReadOnlyState
from sagelocal.service.service import Emulator

CREDENTIALS = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


@pytest.fixture
def writer(home: Path) -> JobWriter:
    Emulator(home)  # the state folder as a running serve has it (schema, object store)
    return JobWriter(home)


@pytest.fixture
def client(writer: JobWriter, home: Path) -> Iterator[TestClient]:
    app = create_app(Emulator(home), Verifier(CREDENTIALS))
    with TestClient(app, client=("127.0.0.1", 50000)) as test_client:
        yield test_client


def _text(page: str) -> str:
    """The page's text: tags dropped, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_completed_job_page_shows_the_describe_document_history_metrics_and_charts(
    writer: JobWriter, client: TestClient
) -> None:
    values = writer.completed_job("done-1", rounds=10)
    response = client.get("/_console/training-jobs/done-1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page = response.text
    text = _text(page)
    assert "Status Completed Secondary status Completed" in text
    rows = re.findall(r"<tr><td>(\w+)</td><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td></tr>", page)
    assert rows == [
        ("Starting", "Starting the training job"),
        ("Starting", "Preparing the instances for training"),
        ("Downloading", "Downloading input data"),
        ("Training", "Training image download completed. Training in progress."),
        ("Uploading", "Uploading generated training model"),
        ("Completed", "Training job completed"),
    ]
    assert "num_round 3 objective binary:logistic" in text
    assert f"train:rmse {values[-1]['train:rmse']}" in text  # FinalMetricDataList
    # one chart, "rmse", one polyline per metric with a point per round
    charts = re.findall(r'<figure class="chart" data-chart="([^"]+)">', page)
    assert charts == ["rmse"]
    lines = re.findall(r'<polyline class="series" data-metric="([^"]+)" points="([^"]+)"', page)
    assert [name for name, _ in lines] == ["train:rmse", "validation:rmse"]
    assert all(len(points.split()) == 10 for _, points in lines)
    assert re.findall(r'<span class="legend-name">([^<]+)</span>', page) == ["train:rmse", "validation:rmse"]
    # input browses the bucket at the channel's prefix; the model downloads
    assert 'href="/_console/s3/bucket?prefix=data%2Ftrain">s3://bucket/data/train</a>' in page
    link = re.search(
        r'<dd id="model-artifacts"><a href="([^"]+)">s3://bucket/out/done-1/output/model.tar.gz</a>', page
    )
    assert link is not None
    download = client.get(html.unescape(link.group(1)))
    assert download.status_code == 200
    assert download.content == b"model"
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"] == 'attachment; filename="model.tar.gz"'
    assert download.headers["x-content-type-options"] == "nosniff"


def test_failed_job_page_shows_its_failure_reason(writer: JobWriter, client: TestClient) -> None:
    writer.create("bad-1")
    writer.start_training("bad-1")
    reason = "AlgorithmError: framework error: \nTraceback (most recent call last):\nValueError: bad label"
    writer.fail("bad-1", reason)
    page = client.get("/_console/training-jobs/bad-1").text
    found = re.search(r'<dd id="failure-reason" class="failure">(.*?)</dd>', page, re.S)
    assert found is not None and html.unescape(found.group(1)) == reason
    rows = re.findall(r"<tr><td>(\w+)</td><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td></tr>", page)
    assert rows[-1] == ("Failed", "Training job failed")
    assert "No metric values in the log yet." in page


def test_job_list_filters_by_status_and_name_and_draws_the_objective(
    writer: JobWriter, client: TestClient
) -> None:
    writer.completed_job("Alpha-done")
    writer.create("beta-bad")
    writer.fail("beta-bad", "ClientError: no data")
    writer.create("alpha-running")
    names = lambda page: re.findall(r'<tr data-job="([^"]+)">', page)  # noqa: E731
    assert names(client.get("/_console/training-jobs").text) == ["alpha-running", "beta-bad", "Alpha-done"]
    assert names(client.get("/_console/training-jobs?status=Failed").text) == ["beta-bad"]
    assert names(client.get("/_console/training-jobs?name=ALPHA").text) == ["alpha-running", "Alpha-done"]
    assert names(client.get("/_console/training-jobs?name=alpha&status=Completed").text) == ["Alpha-done"]
    page = client.get("/_console/training-jobs?status=Completed").text
    assert re.search(
        r'<svg class="sparkline"[^>]*aria-label="validation:rmse"><polyline points="[^"]+"', page
    )
    # the live fragment the list polls: the same rows, final once none is running
    fragment = client.get("/_console/fragments/training-jobs?status=Completed")
    assert names(fragment.text) == ["Alpha-done"]
    assert fragment.headers["x-console-final"] == "1"
    assert client.get("/_console/fragments/training-jobs").headers["x-console-final"] == "0"


def test_every_user_string_is_escaped(writer: JobWriter, client: TestClient, home: Path) -> None:
    # A job name cannot hold '<' through the API; a record written by hand can, and the page still escapes it.
    name = "x<b>y"
    writer.create(name, HyperParameters={"note": XSS, XSS: "key"})
    stream = writer.start_training(name)
    writer.log(stream, XSS)
    writer.objects.create_bucket("bucket")
    writer.objects.put_object("bucket", f"evil/{XSS}.txt", b"x")
    pages = [
        client.get("/_console/training-jobs").text,
        client.get("/_console/training-jobs/x%3Cb%3Ey").text,
        client.get("/_console/training-jobs/x%3Cb%3Ey/log?after=0").text,
        client.get("/_console/s3/bucket?prefix=evil/").text,
    ]
    for page in pages:
        assert "<script>" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in pages[1]
    assert '<h1 class="job-name">x&lt;b&gt;y</h1>' in pages[1]
    assert (
        '<span class="msg">&lt;script&gt;window.__xss=1&lt;/script&gt;&lt;img src=x onerror=&#34;window'
        in pages[2]
    )


def test_log_pages_and_follows(writer: JobWriter, client: TestClient) -> None:
    writer.create("logs-1")
    stream = writer.start_training("logs-1")
    writer.log(stream, *(f"line {i}" for i in range(450)))
    last = re.findall(r'<span class="msg">([^<]+)</span>', client.get("/_console/training-jobs/logs-1").text)
    assert last == [f"line {i}" for i in range(250, 450)]
    page = client.get("/_console/training-jobs/logs-1?log_start=0").text
    assert re.findall(r'<span class="msg">([^<]+)</span>', page) == [f"line {i}" for i in range(200)]
    assert "Events 1–200 of 450" in page
    assert "data-follow" not in page  # following only from the last page
    after = re.search(r'data-after="(\d+)"', client.get("/_console/training-jobs/logs-1").text)
    assert after is not None
    nothing = client.get(f"/_console/training-jobs/logs-1/log?after={after.group(1)}")
    assert nothing.text.strip() == "" and nothing.headers["x-console-after"] == after.group(1)
    assert nothing.headers["x-console-final"] == "0"  # still running
    writer.log(stream, "line 450", "line 451")
    more = client.get(f"/_console/training-jobs/logs-1/log?after={after.group(1)}")
    assert re.findall(r'<span class="msg">([^<]+)</span>', more.text) == ["line 450", "line 451"]
    assert int(more.headers["x-console-after"]) == int(after.group(1)) + 2


def test_endpoint_pages(writer: JobWriter, client: TestClient) -> None:
    store = HostingStore(writer.db)
    snapshot = {
        "config": {
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "m-1",
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                }
            ]
        },
        "models": {
            "m-1": {"PrimaryContainer": {"Image": "img:1", "ModelDataUrl": "s3://bucket/model.tar.gz"}}
        },
    }
    store.insert_endpoint("ep-1", "process", {"EndpointName": "ep-1"}, "cfg-1", snapshot)
    store.fail(
        "ep-1",
        1,
        "The primary container for production variant AllTraffic did not pass the ping health check.",
    )
    listing = client.get("/_console/endpoints").text
    assert re.findall(r'<a href="/_console/endpoints/([^"]+)">', listing) == ["ep-1"]
    text = _text(client.get("/_console/endpoints/ep-1").text)
    assert (
        "Status Failed Failure reason The primary container for production variant AllTraffic did not pass"
        in text
    )
    assert "Endpoint configuration cfg-1" in text
    assert "AllTraffic m-1 ml.m5.large - 1 - s3://bucket/model.tar.gz" in text
    assert client.get("/_console/endpoints/nope").status_code == 404


def test_s3_browser_lists_folders_and_objects(writer: JobWriter, client: TestClient) -> None:
    writer.objects.create_bucket("data-bucket")
    writer.objects.put_object("data-bucket", "a/b/one.csv", b"1,2\n")
    writer.objects.put_object("data-bucket", "a/two.csv", b"3,4\n")
    writer.objects.put_object("data-bucket", "top.txt", b"t")
    writer.objects.put_object("data-bucket", ".hidden", b"h")
    assert re.findall(r'<a href="/_console/s3/([^"]+)">', client.get("/_console/s3").text) == ["data-bucket"]
    root = client.get("/_console/s3/data-bucket").text
    assert re.findall(r'<tr class="(\w+)"><td><a [^>]*>([^<]+)</a>', root) == [
        ("object", ".hidden"),
        ("folder", "a/"),
        ("object", "top.txt"),
    ]
    folder = client.get("/_console/s3/data-bucket?prefix=a/").text
    assert re.findall(r'<tr class="(\w+)"><td><a [^>]*>([^<]+)</a>', folder) == [
        ("folder", "b/"),
        ("object", "two.csv"),
    ]
    assert "4 B" in _text(folder)
    filtered = client.get("/_console/s3/data-bucket?prefix=a/t").text
    assert re.findall(r'<tr class="(\w+)"><td><a [^>]*>([^<]+)</a>', filtered) == [("object", "two.csv")]
    assert client.get("/_console/s3/data-bucket/object?key=a/b/one.csv").content == b"1,2\n"
    assert client.get("/_console/s3/data-bucket/object?key=missing").status_code == 404
    assert client.get("/_console/s3/no-such-bucket").status_code == 404


def test_the_console_is_read_only_and_local(writer: JobWriter, client: TestClient, home: Path) -> None:
    writer.completed_job("ro-1")
    db = home / "sagelocal.db"

    def fingerprint() -> tuple[str, str]:
        wal = db.with_name("sagelocal.db-wal")
        return (
            hashlib.sha256(db.read_bytes()).hexdigest(),
            hashlib.sha256(wal.read_bytes() if wal.exists() else b"").hexdigest(),
        )

    before = fingerprint()
    for path in (
        "/_console/training-jobs",
        "/_console/training-jobs/ro-1",
        "/_console/training-jobs/ro-1/live",
        "/_console/training-jobs/ro-1/log?after=0",
        "/_console/fragments/training-jobs",
        "/_console/endpoints",
        "/_console/s3",
        "/_console/s3/bucket?prefix=out/",
        "/_console/training-jobs/missing",
    ):
        assert client.get(path).status_code in (200, 404), path
    assert fingerprint() == before
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        refused = client.request(method, "/_console/training-jobs")
        assert (refused.status_code, refused.text) == (405, "The sagelocal console is read-only.\n")
        assert refused.headers["allow"] == "GET, HEAD"
    remote = TestClient(client.app, client=("192.0.2.7", 50000)).get("/_console/training-jobs")
    assert (remote.status_code, remote.text) == (
        403,
        "The sagelocal console answers requests from this machine only.\n",
    )
    # the connections themselves cannot write
    state = ReadOnlyState(db)
    with pytest.raises(ReadOnlyDatabaseError), state.db.write():
        pass
    with pytest.raises(sqlite3.OperationalError, match="attempt to write a readonly database"):
        ReadOnlyDatabase(db).conn().execute("DELETE FROM jobs")
    assert fingerprint() == before


def test_series_follow_the_definitions_and_the_objective(writer: JobWriter) -> None:
    rounds = rmse_rounds(4)
    messages = [(1000 * i, round_line(i, r)) for i, r in enumerate(rounds)]
    request = {"AlgorithmSpecification": {"TrainingImage": "x/sagemaker-xgboost:1.7-1"}}
    series = metric_series(request, messages)
    assert [(s.name, s.values) for s in series] == [
        ("train:rmse", [round(r["train:rmse"], 5) for r in rounds]),
        ("validation:rmse", [round(r["validation:rmse"], 5) for r in rounds]),
    ]
    assert objective_series(request, series).name == "validation:rmse"  # type: ignore[union-attr]
    tuned = {**request, "HyperParameters": {"_tuning_objective_metric": "train:rmse"}}
    assert objective_series(tuned, series).name == "train:rmse"  # type: ignore[union-attr]
    custom = {
        "AlgorithmSpecification": {
            "TrainingImage": "my/image:1",
            "MetricDefinitions": [
                {"Name": "loss", "Regex": "loss=([0-9.]+)"},
                {"Name": "acc", "Regex": "acc=([0-9.]+)"},
            ],
        }
    }
    found = metric_series(custom, [(0, "acc=0.5 loss=2"), (1, "noise"), (2, "loss=1.5"), (3, "acc=0.7")])
    assert [(s.name, s.values) for s in found] == [("loss", [2.0, 1.5]), ("acc", [0.5, 0.7])]
    charts = metric_charts(found)
    assert [(c.title, [line.name for line in c.lines]) for c in charts] == [
        ("loss", ["loss"]),
        ("acc", ["acc"]),
    ]


def test_serve_prints_the_console_url(sagelocal_server: object) -> None:
    server = sagelocal_server
    assert f"# Web console (read-only, this machine only): {server.url}/_console/\n" in server.log_text()  # type: ignore[attr-defined]


def test_only_unsigned_path_style_requests_reach_the_console(sagelocal_server: object) -> None:
    server = sagelocal_server
    page = server.send("GET", "/_console/training-jobs", service=None)  # type: ignore[attr-defined]
    assert page.status == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert b"<h1>Training jobs</h1>" in page.body
    # signed: S3's, and no bucket can be called _console
    signed = server.send("GET", "/_console/training-jobs", service="s3")  # type: ignore[attr-defined]
    assert signed.status == 404 and b"<Code>NoSuchBucket</Code>" in signed.body
    # virtual-host style: /_console/… is a key of the bucket, and an unsigned request is refused as S3 refuses it
    port = server.port  # type: ignore[attr-defined]
    hosted = server.send(
        "GET", "/_console/training-jobs", headers={"Host": f"bucket.localhost:{port}"}, service=None
    )  # type: ignore[attr-defined]
    assert hosted.status == 403 and b"<Code>AccessDenied</Code>" in hosted.body
    # the Host check runs first, for the console too
    foreign = server.send(
        "GET", "/_console/training-jobs", headers={"Host": f"evil.example:{port}"}, service=None
    )  # type: ignore[attr-defined]
    assert foreign.status == 403 and foreign.body.startswith(b"sagelocal refuses requests with Host")
