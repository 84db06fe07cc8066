"""``python -m sagelocal.algorithms.xgboost serve`` as a real process over HTTP, per image version.

Expected bodies and statuses follow aws/sagemaker-xgboost-container: ``src/sagemaker_xgboost_container/
algorithm_mode/serve.py`` (routes, order of checks, 1.2-2+ Accept handling vs the comma-joined answer of 0.90-x …
1.2-1), ``algorithm_mode/serve_utils.py`` (model loading, feature checks, selectable output), ``encoder.py`` and
``data_utils.py`` (request parsing and its 415 texts); aws/sagemaker-containers v2.8.6.post2
``_encoders.array_to_csv`` and ``etc/nginx.conf.template`` (404 ``{}``); the 0.72 image's comma-joined scores and
its content-type message (GH aws/amazon-sagemaker-examples#729).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from support.serving import Server, booster_of, serving, train

ROWS = [[0.9, 0.1, 0.2], [0.1, 0.2, 0.3], [1.5, 0.75, 0.5]]
CSV = "\n".join(",".join(str(v) for v in row) for row in ROWS).encode()
HTML = "text/html; charset=utf-8"
ACCEPTED = (
    "is not an accepted ContentType: csv, libsvm, parquet, recordio-protobuf, text/csv, text/libsvm, "
    "text/x-libsvm, application/x-parquet, application/x-recordio-protobuf."
)
WERKZEUG_500 = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<title>500 Internal Server Error</title>\n'
    b"<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was unable to complete "
    b"your request. Either the server is overloaded or there is an error in the application.</p>\n"
)


def expected_scores(model_dir: Path, rows: list[list[float]] = ROWS) -> list[float]:
    import xgboost as xgb

    booster = booster_of(model_dir)
    scores = booster.predict(xgb.DMatrix(np.array(rows)), validate_features=False)
    return [float(v) for v in scores.tolist()]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One ml root with a trained model per version (trained once for the module)."""
    roots = {}
    for version in ("1", "1.0-1", "1.7-1", "3.0-5"):
        root = tmp_path_factory.mktemp(f"serve-{version}")
        train(root, version)
        roots[version] = root
    return roots


# --- 3.0-5 (and 1.2-2+ semantics) ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_3_0_5(models: dict[str, Path]) -> Iterator[Server]:
    with serving(models["3.0-5"], "3.0-5") as server:
        yield server


def test_3_0_5_answers_each_accept_type_with_the_image_bytes(
    models: dict[str, Path], server_3_0_5: Server
) -> None:
    scores = expected_scores(models["3.0-5"] / "model")
    server = server_3_0_5
    status, headers, body = server.request("GET", "/ping")
    assert (status, headers["content-type"], body) == (200, HTML, b"")

    # no Accept → text/csv, one repr per line, \n-terminated (sagemaker-containers array_to_csv)
    status, headers, body = server.invoke(CSV)
    assert status == 200
    assert headers["content-type"] == "text/csv; charset=utf-8"
    assert body == "".join(f"{s!r}\n" for s in scores).encode()
    assert np.allclose([float(x) for x in body.split()], scores, atol=1e-6)

    for accept in ("*/*", "text/csv", "TEXT/CSV"):
        assert server.invoke(CSV, accept=accept)[2] == body

    status, headers, body = server.invoke(CSV, accept="application/json")
    assert (status, headers["content-type"]) == (200, "application/json")
    assert body == ('{"predictions": [' + ", ".join(f'{{"score": {s!r}}}' for s in scores) + "]}").encode()

    # JSON Lines / RecordIO without SAGEMAKER_INFERENCE_OUTPUT: the image's uncaught UnsupportedFormatError
    for accept in ("application/jsonlines", "application/x-recordio-protobuf"):
        status, headers, body = server.invoke(CSV, accept=accept)
        assert (status, headers["content-type"], body) == (500, "text/html", WERKZEUG_500)

    status, _, body = server.invoke(CSV, accept="text/libsvm")
    assert status == 406
    assert body == (
        b"Accept type text/libsvm is not supported. Please use supported accept types: "
        b"['application/json', 'application/jsonlines', 'application/x-recordio-protobuf', 'text/csv']."
    )
    # a list of types is one unsupported token for cgi.parse_header
    assert server.invoke(CSV, accept="text/csv, application/json")[0] == 406

    # other delimiters are sniffed; a single row works; 1-based LIBSVM with no Content-Type is LIBSVM
    assert server.invoke(b"0.9;0.1;0.2")[2] == f"{scores[0]!r}\n".encode()
    libsvm = b"1 0:0.9 1:0.1 2:0.2\n0 0:0.1 1:0.2 2:0.3"
    assert server.invoke(libsvm, content_type=None)[2] == "".join(f"{s!r}\n" for s in scores[:2]).encode()
    assert server.invoke(libsvm, content_type="text/libsvm")[0] == 200


def test_3_0_5_bad_payloads_get_the_image_statuses_and_messages(server_3_0_5: Server) -> None:
    server = server_3_0_5
    status, headers, body = server.invoke(b"")
    assert (status, body) == (204, b"")

    status, headers, body = server.invoke(b'{"a": 1}', content_type="application/json")
    assert (status, headers["content-type"]) == (415, HTML)
    assert body.decode() == f"application/json {ACCEPTED}"

    status, _, body = server.invoke(CSV, content_type="text/csv;label_size=0")
    assert (status, body.decode()) == (
        415,
        "text/csv;label_size=0 is not an accepted csv ContentType. "
        "Optional parameter label_size must be equal to 1",
    )
    assert server.invoke(CSV, content_type="text/csv; charset=utf-8")[0] == 200
    assert server.invoke(CSV, content_type="application/x-parquet")[2] == (
        b"Content-type application/x-parquet is not supported."
    )

    status, _, body = server.invoke(b"age,job,day\n1,2,3")
    assert (status, body.decode()) == (
        415,
        "Loading csv data failed with Exception, please ensure data is in csv format:\n"
        " <class 'ValueError'>\n could not convert string to float: np.str_('age')",
    )
    status, _, body = server.invoke(b"   \n  ")
    assert status == 204 or body.decode().endswith(" <class '_csv.Error'>\n Could not determine delimiter")

    # more columns than the (UBJSON) model: XGBoost's own check; fewer columns are padded as missing
    status, _, body = server.invoke(b"1,2,3,4")
    assert status == 400
    text = body.decode()
    assert text.startswith("Unable to evaluate payload provided: [")
    assert "Check failed: learner_model_param_.num_feature >= p_fmat->Info().num_col_ (3 vs. 4)" in text
    assert "Number of columns does not match number of features in booster." in text
    assert server.invoke(b"1,2")[0] == 200

    # nginx answers paths it does not proxy; Flask answers the wrong method
    status, headers, body = server.request("GET", "/foo")
    assert (status, headers["content-type"], body) == (404, "application/octet-stream", b"{}")
    assert server.request("GET", "/invocations")[0] == 405
    status, headers, body = server.request("GET", "/execution-parameters")
    assert status == 200 and headers["content-type"] == "application/json"
    assert body.startswith(b'{"MaxConcurrentTransforms": ')
    assert body.endswith(b', "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}')


def test_batch_selectable_output_and_payload_limit(models: dict[str, Path]) -> None:
    root = models["3.0-5"]
    scores = expected_scores(root / "model")
    with serving(root, "3.0-5", {"SAGEMAKER_BATCH": "True", "MAX_CONTENT_LENGTH": str(len(CSV))}) as server:
        status, headers, body = server.invoke(CSV, accept="application/json")
        assert (status, headers["content-type"]) == (200, "application/json")
        assert body == "".join(f"{s!r}\n" for s in scores).encode()  # str() per line whatever the Accept
        status, headers, body = server.invoke(CSV + b"\n")
        assert (status, headers["content-type"]) == (413, "text/html")
        assert b"<title>413 Request Entity Too Large</title>" in body
    env = {"SAGEMAKER_INFERENCE_OUTPUT": "predicted_label, Probabilities"}
    with serving(root, "3.0-5", env) as server:
        status, headers, body = server.invoke(CSV)
        assert headers["content-type"] == "text/csv; charset=utf-8"
        assert body.decode() == "\n".join(f'{int(s > 0.5)},"{[1.0 - s, s]}"' for s in scores)
        body = server.invoke(CSV, accept="application/jsonlines")[2]
        assert body.decode() == "".join(
            f'{{"predicted_label": {int(s > 0.5)}, "probabilities": {[1.0 - s, s]}}}\n' for s in scores
        )


def test_model_that_cannot_load_fails_the_ping_on_3_0_5_but_not_on_1_0_1(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "xgboost-model").write_bytes(b"not a model")
    with serving(tmp_path, "3.0-5") as server:
        assert server.request("GET", "/ping")[:3:2] == (500, WERKZEUG_500)
        status, _, body = server.invoke(CSV)
        assert status == 500
        assert body.decode().startswith(
            "Unable to load model: Model /opt/ml/model/xgboost-model cannot be loaded:\nPickle load error="
        )
        assert "\nXGB load model error=" in body.decode()
    empty = tmp_path / "empty"
    empty.mkdir()
    with serving(empty, "1.0-1") as server:
        assert server.request("GET", "/ping")[0] == 200  # 1.0-1's /ping does not load the model
        status, _, body = server.invoke(CSV)
        assert (status, body) == (
            500,
            b"Unable to load model: [Errno 2] No such file or directory: '/opt/ml/model'",
        )


# --- older images --------------------------------------------------------------------------------------------


def test_1_7_1_binary_model_on_sagemaker_bind_to_port(models: dict[str, Path]) -> None:
    root = models["1.7-1"]
    assert (root / "model" / "xgboost-model").read_bytes()[:4] == b"binf"
    scores = expected_scores(root / "model")
    with serving(root, "1.7-1", use_port_flag=False) as server:
        assert server.invoke(CSV)[2] == "".join(f"{s!r}\n" for s in scores).encode()
        body = server.invoke(b"age,1,2")[2].decode()
        assert body.endswith(" <class 'ValueError'>\n could not convert string to float: 'age'")  # numpy 1.x


def test_1_0_1_pickle_joins_scores_with_commas_and_checks_feature_count(models: dict[str, Path]) -> None:
    root = models["1.0-1"]
    scores = expected_scores(root / "model")
    with serving(root, "1.0-1") as server:
        for accept in (None, "application/json", "text/libsvm"):
            status, headers, body = server.invoke(CSV, accept=accept)
            assert (status, headers["content-type"]) == (200, "text/csv; charset=utf-8")
            assert body == ",".join(repr(s) for s in scores).encode()
        status, _, body = server.invoke(b"1,2,3,4,5")
        assert (status, body) == (
            400,
            b"Unable to evaluate payload provided: Feature size of csv inference data 5 is not consistent "
            b"with feature size of trained model 3.",
        )
        assert server.invoke(b"1,2")[0] == 200  # one column fewer is allowed (the label column, #410)
        assert server.invoke(b"1")[0] == 400


def test_0_72_comma_joined_and_its_content_types(models: dict[str, Path]) -> None:
    root = models["1"]
    scores = expected_scores(root / "model")
    with serving(root, "1") as server:
        status, headers, body = server.invoke(CSV, content_type=None)  # text/csv is 0.72's default
        assert (status, headers["content-type"]) == (200, "text/csv; charset=utf-8")
        assert body == ",".join(repr(s) for s in scores).encode()
        # the tutorial's parse of a 0.72 answer
        parsed = np.fromstring(body.decode()[1:], sep=",")  # type: ignore[call-overload]
        assert parsed.shape == (len(ROWS),)
        status, _, body = server.invoke(b"{}", content_type="application/json")
        assert (status, body) == (
            415,
            b"Content-type application/json not supported. Supported content-type is text/csv, text/libsvm",
        )
