"""CloudWatch metrics of ``sagelocal serve`` with real boto3 (AWS JSON 1.0) and the query protocol: ListMetrics
and GetMetricStatistics over a training job's log-derived metrics, their shapes and their errors."""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.exceptions import ClientError
from support.metric_jobs import train_job
from support.server_fixture import Server

NAMESPACE = "/aws/sagemaker/TrainingJobs"
XMLNS = {"cw": "http://monitoring.amazonaws.com/doc/2010-08-01/"}


@pytest.fixture(scope="module")
def job(sagelocal_server: Server) -> dict[str, Any]:
    return train_job(sagelocal_server, f"cw-{uuid.uuid4().hex[:8]}")


def _window(desc: dict[str, Any]) -> dict[str, Any]:
    """The window TrainingJobAnalytics asks for: TrainingStartTime to TrainingEndTime + 1 minute."""
    return {"StartTime": desc["TrainingStartTime"], "EndTime": desc["TrainingEndTime"] + timedelta(minutes=1)}


def _stats(cw: Any, job: dict[str, Any], metric: str, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "Namespace": NAMESPACE,
        "MetricName": metric,
        "Dimensions": [{"Name": "TrainingJobName", "Value": job["TrainingJobName"]}],
        "Period": 60,
        "Statistics": ["Average"],
        **_window(job),
    }
    params.update(extra)
    return cw.get_metric_statistics(**{k: v for k, v in params.items() if v is not None})


def test_the_client_speaks_json_1_0(sagelocal_server: Server) -> None:
    """boto3's CloudWatch client resolves the JSON protocol (botocore >= 1.42.7): the server must answer it."""
    cw = sagelocal_server.client("cloudwatch")
    assert cw.meta.service_model.resolved_protocol == "json"


def test_get_metric_statistics_one_datapoint_per_round(sagelocal_server: Server, job: dict[str, Any]) -> None:
    cw = sagelocal_server.client("cloudwatch")
    answer = _stats(cw, job, "validation:auc")
    assert answer["Label"] == "validation:auc"
    points = answer["Datapoints"]
    assert len(points) == 4  # num_round
    assert all(set(p) == {"Timestamp", "Average", "Unit"} for p in points)
    assert all(p["Unit"] == "None" for p in points)
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert points[-1]["Average"] == final["validation:auc"]
    times = [p["Timestamp"] for p in points]
    assert times == sorted(times)
    assert job["TrainingStartTime"] - timedelta(seconds=1) <= times[0] <= job["TrainingEndTime"]

    every = _stats(cw, job, "train:auc", Statistics=["SampleCount", "Sum", "Minimum", "Maximum", "Average"])
    first = every["Datapoints"][0]
    assert list(first) == ["Timestamp", "SampleCount", "Average", "Sum", "Minimum", "Maximum", "Unit"]
    assert first["SampleCount"] == 1.0
    assert first["Average"] == first["Sum"] == first["Minimum"] == first["Maximum"]

    pct = _stats(cw, job, "train:auc", Statistics=None, ExtendedStatistics=["p50", "p99.9"])
    assert set(pct["Datapoints"][0]) == {"Timestamp", "Unit", "ExtendedStatistics"}
    assert set(pct["Datapoints"][0]["ExtendedStatistics"]) == {"p50", "p99.9"}


def test_no_data_is_an_empty_answer(sagelocal_server: Server, job: dict[str, Any]) -> None:
    """A metric, job, dimension set, namespace or unit without data: an empty list, as CloudWatch answers."""
    cw = sagelocal_server.client("cloudwatch")
    empty = {"Label": "validation:rmse", "Datapoints": []}
    assert {k: v for k, v in _stats(cw, job, "validation:rmse").items() if k != "ResponseMetadata"} == empty
    other_job = [{"Name": "TrainingJobName", "Value": "no-such-job"}]
    assert _stats(cw, job, "validation:auc", Dimensions=other_job)["Datapoints"] == []
    assert _stats(cw, job, "validation:auc", Dimensions=None)["Datapoints"] == []
    host = [{"Name": "Host", "Value": f"{job['TrainingJobName']}/algo-1"}]
    assert _stats(cw, job, "validation:auc", Dimensions=host)["Datapoints"] == []
    assert _stats(cw, job, "validation:auc", Namespace="AWS/EC2")["Datapoints"] == []
    assert _stats(cw, job, "validation:auc", Unit="Seconds")["Datapoints"] == []
    before = {
        "StartTime": job["TrainingStartTime"] - timedelta(hours=1),
        "EndTime": job["TrainingStartTime"] - timedelta(minutes=5),
    }
    assert _stats(cw, job, "validation:auc", **before)["Datapoints"] == []


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = excinfo.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def test_get_metric_statistics_errors(sagelocal_server: Server, job: dict[str, Any]) -> None:
    cw = sagelocal_server.client("cloudwatch")
    now = datetime.now(UTC).replace(microsecond=0)
    with pytest.raises(ClientError) as excinfo:
        _stats(cw, job, "validation:auc", StartTime=now, EndTime=now)
    assert _error(excinfo) == (
        "InvalidParameterValue",
        "The parameter StartTime must not equal parameter EndTime.",
        400,
    )
    with pytest.raises(ClientError) as excinfo:
        _stats(cw, job, "validation:auc", StartTime=now - timedelta(days=2), EndTime=now)
    assert _error(excinfo) == (
        "InvalidParameterCombination",
        "You have requested up to 2880 datapoints, which exceeds the limit of 1440. You may reduce the "
        "datapoints requested by increasing Period, or decreasing the time range.",
        400,
    )
    with pytest.raises(ClientError) as excinfo:
        _stats(cw, job, "validation:auc", ExtendedStatistics=["p90"])
    assert _error(excinfo) == (
        "InvalidParameterCombination",
        "Must specify either Statistics or ExtendedStatistics, but not both.",
        400,
    )
    assert excinfo.value.response["Error"]["Type"] == "Sender"


def test_list_metrics(sagelocal_server: Server, job: dict[str, Any]) -> None:
    cw = sagelocal_server.client("cloudwatch")
    name = job["TrainingJobName"]
    dims = [{"Name": "TrainingJobName", "Value": name}]
    listed = cw.list_metrics(Namespace=NAMESPACE, Dimensions=dims)
    assert listed["Metrics"] == [
        {"Namespace": NAMESPACE, "MetricName": metric, "Dimensions": dims}
        for metric in ("train:auc", "validation:auc")
    ]
    assert "NextToken" not in listed
    only = cw.list_metrics(Namespace=NAMESPACE, MetricName="validation:auc", Dimensions=dims)["Metrics"]
    assert [m["MetricName"] for m in only] == ["validation:auc"]
    everything = cw.list_metrics()["Metrics"]
    assert {"Namespace": NAMESPACE, "MetricName": "train:auc", "Dimensions": dims} in everything
    assert cw.list_metrics(Namespace="AWS/EC2")["Metrics"] == []
    assert cw.list_metrics(Dimensions=[{"Name": "Host"}])["Metrics"] == []
    assert (
        len(cw.list_metrics(Dimensions=[{"Name": "TrainingJobName"}], RecentlyActive="PT3H")["Metrics"]) >= 2
    )
    with pytest.raises(ClientError) as excinfo:
        cw.list_metrics(NextToken="not-a-token")
    assert _error(excinfo)[0] == "InvalidParameterValue"


def test_model_violations_are_validation_errors(sagelocal_server: Server, job: dict[str, Any]) -> None:
    """boto3 checks the model itself, so a raw JSON 1.0 request carries the violation onto the wire."""
    body = (
        b'{"Namespace":"/aws/sagemaker/TrainingJobs","MetricName":"x","StartTime":1,"EndTime":100000,'
        b'"Period":0,"Statistics":["Avg"]}'
    )
    response = sagelocal_server.send(
        "POST",
        "/",
        body,
        {
            "X-Amz-Target": "GraniteServiceVersion20100801.GetMetricStatistics",
            "Content-Type": "application/x-amz-json-1.0",
        },
        service="monitoring",
    )
    assert response.status == 400
    assert response.headers["x-amzn-query-error"] == "ValidationError;Sender"
    assert b"failed to satisfy constraint" in response.body and b"'period'" in response.body


def _query(server: Server, params: dict[str, str]) -> tuple[int, ET.Element]:
    body = urlencode({"Version": "2010-08-01", **params}).encode()
    response = server.send(
        "POST",
        "/",
        body,
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        service="monitoring",
    )
    return response.status, ET.fromstring(response.body)


def test_query_protocol(sagelocal_server: Server, job: dict[str, Any]) -> None:
    """The form-encoded protocol older botocore (< 1.42.7) and other clients send, answered in XML."""
    start = job["TrainingStartTime"].strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (job["TrainingEndTime"] + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, root = _query(
        sagelocal_server,
        {
            "Action": "GetMetricStatistics",
            "Namespace": NAMESPACE,
            "MetricName": "validation:auc",
            "Dimensions.member.1.Name": "TrainingJobName",
            "Dimensions.member.1.Value": job["TrainingJobName"],
            "StartTime": start,
            "EndTime": end,
            "Period": "60",
            "Statistics.member.1": "Average",
        },
    )
    assert status == 200
    result = root.find("cw:GetMetricStatisticsResult", XMLNS)
    assert result is not None and result.findtext("cw:Label", namespaces=XMLNS) == "validation:auc"
    averages = [float(v.text or "") for v in result.findall("cw:Datapoints/cw:member/cw:Average", XMLNS)]
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert len(averages) == 4 and averages[-1] == final["validation:auc"]

    status, root = _query(
        sagelocal_server,
        {
            "Action": "ListMetrics",
            "Dimensions.member.1.Name": "TrainingJobName",
            "Dimensions.member.1.Value": job["TrainingJobName"],
        },
    )
    assert status == 200
    names = [e.text for e in root.findall("cw:ListMetricsResult/cw:Metrics/cw:member/cw:MetricName", XMLNS)]
    assert names == ["train:auc", "validation:auc"]

    status, root = _query(sagelocal_server, {"Action": "GetMetricStatistics", "Namespace": NAMESPACE})
    assert status == 400
    assert root.findtext("cw:Error/cw:Code", namespaces=XMLNS) == "ValidationError"
    status, root = _query(sagelocal_server, {"Action": "PutMetricData"})
    assert (status, root.findtext("cw:Error/cw:Code", namespaces=XMLNS)) == (400, "InvalidAction")


def test_unknown_json_operation(sagelocal_server: Server) -> None:
    response = sagelocal_server.send(
        "POST",
        "/",
        b"{}",
        {
            "X-Amz-Target": "GraniteServiceVersion20100801.PutMetricData",
            "Content-Type": "application/x-amz-json-1.0",
        },
        service="monitoring",
    )
    assert response.status == 400
    assert json.loads(response.body) == {
        "__type": "UnknownOperationException",
        "message": "Unknown operation GraniteServiceVersion20100801.PutMetricData: sagelocal serves CloudWatch "
        "ListMetrics, GetMetricStatistics.",
    }
