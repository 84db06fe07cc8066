"""The serving rules in-process: request parsing, response bodies, selectable output and model loading per
image version.

Each rule's source is aws/sagemaker-xgboost-container (``src/sagemaker_xgboost_container/``): ``data_utils.py``
``get_content_type``; ``encoder.py`` ``csv_to_dmatrix`` / ``recordio_protobuf_to_dmatrix`` /
``json_to_jsonlines``; ``algorithm_mode/serve_utils.py`` (``_get_sparse_matrix_from_libsvm``,
``get_loaded_booster``, ``predict``, selectable output); ``algorithm_mode/serve.py`` (``_parse_accept``, the
comma-joined answer of 0.90-x … 1.2-1, the Accept-driven one from 1.2-2); aws/sagemaker-containers
``_encoders.array_to_csv``. 0.72: docs.aws.amazon.com/sagemaker/latest/dg/xgboost-72.html and GH
aws/amazon-sagemaker-examples#729.
"""

from __future__ import annotations

import io
import json
import math
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
from support.serving import train

from sagelocal.algorithms.xgboost.logs import Log
from sagelocal.algorithms.xgboost.serving import encoding, loading, payload
from sagelocal.algorithms.xgboost.serving.rules import serving_rules
from sagelocal.algorithms.xgboost.serving.scoring import ScoringService
from sagelocal.algorithms.xgboost.versions import get_version
from sagelocal.contract import read_serving_env


def rules(version: str):  # type: ignore[no-untyped-def]
    return serving_rules(get_version(version))


def quiet() -> Log:
    return Log(io.StringIO())


# --- per-version facts ---------------------------------------------------------------------------------------


def test_rules_switch_where_the_image_code_changed() -> None:
    assert [v for v in ("1", "0.90-1", "1.0-1", "1.2-1", "1.2-2", "3.0-5") if rules(v).accept_driven] == [
        "1.2-2",
        "3.0-5",
    ]
    assert not rules("0.90-2").selectable_output and rules("1.0-1").selectable_output
    assert rules("1.7-1").skips_dotfiles and not rules("1.5-1").skips_dotfiles
    assert [rules(v).load_error for v in ("1.2-1", "1.5-1", "1.7-1")] == ["dir", "path", "labelled"]
    assert rules("1.7-1").best_iteration and not rules("3.0-5").best_iteration
    assert rules("1").legacy_content_types and not rules("0.90-1").legacy_content_types


def test_serving_env_reads_the_contract_variables(tmp_path: Path) -> None:
    env = read_serving_env(tmp_path, {"SAGEMAKER_BIND_TO_PORT": "9000", "SM_MODEL_DIR": "/opt/ml/model"})
    assert (env.port, env.model_dir, env.default_accept, env.ensemble, env.batch) == (
        9000,
        tmp_path / "model",
        "text/csv",
        True,
        False,
    )
    assert read_serving_env(tmp_path, {}).port == 8080
    assert read_serving_env(tmp_path, {"SAGEMAKER_BIND_TO_PORT": "9000"}, port=7000).port == 7000
    assert read_serving_env(tmp_path, {"SAGEMAKER_INFERENCE_ENSEMBLE": "True"}).ensemble is False  # == "true"
    assert read_serving_env(tmp_path, {"SAGEMAKER_INFERENCE_OUTPUT": ""}).inference_output == ""


# --- request parsing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        (None, "libsvm"),
        ("text/csv", "csv"),
        ("CSV", "csv"),
        ("text/csv; charset=utf-8", "csv"),
        ("text/csv;label_size=1", "csv"),
        ("text/x-libsvm", "libsvm"),
        ("application/x-recordio-protobuf", "recordio-protobuf"),
    ],
)
def test_content_types_of_the_open_source_images(content_type: str | None, kind: str) -> None:
    assert payload.content_kind(content_type, rules("3.0-5")) == kind


def test_refused_content_types() -> None:
    with pytest.raises(payload.PayloadError) as e:
        payload.content_kind("application/jsonlines", rules("1.7-1"))
    assert e.value.message.startswith("application/jsonlines is not an accepted ContentType: csv, libsvm, ")
    with pytest.raises(payload.PayloadError) as e:
        payload.content_kind("application/x-parquet", rules("3.0-5"))
    assert e.value.message == "Content-type application/x-parquet is not supported."
    assert payload.content_kind(None, rules("1")) == "csv"
    with pytest.raises(payload.PayloadError) as e:
        payload.content_kind("application/json", rules("1"))
    assert e.value.message == (
        "Content-type application/json not supported. Supported content-type is text/csv, text/libsvm"
    )


def test_csv_body_is_stripped_sniffed_and_empty_fields_are_missing() -> None:
    log_stream = io.StringIO()
    matrix = payload.csv_matrix(b"\n 1|2|\n3||4\n\n", Log(log_stream))
    assert matrix.shape == (2, 3)
    assert np.isnan(matrix[0, 2]) and np.isnan(matrix[1, 1])
    assert "] Determined delimiter of CSV input is '|'" in log_stream.getvalue()
    assert payload.csv_matrix(b"0.5", quiet()).tolist() == [[0.5]]  # an alphanumeric guess becomes ","


@pytest.mark.parametrize(
    ("body", "tail"),
    [
        (b"age,1", " <class 'ValueError'>\n could not convert string to float: 'age'"),
        (b'"0.9",1', " <class 'ValueError'>\n could not convert string to float: '\"0.9\"'"),
        (b"1,2\n3", " <class 'ValueError'>\n setting an array element with a sequence."),
    ],
)
def test_csv_errors_name_the_exception_as_the_image_does(body: bytes, tail: str) -> None:
    with pytest.raises(payload.PayloadError) as e:
        payload.parse(body, "text/csv", rules("1.7-1"), quiet())
    head = "Loading csv data failed with Exception, please ensure data is in csv format:\n"
    assert e.value.message.startswith(head)
    assert e.value.message[len(head) :].startswith(tail)


def test_csv_errors_on_3_0_5_quote_numpy_2_strings() -> None:
    with pytest.raises(payload.PayloadError) as e:
        payload.parse(b"age,1", "text/csv", rules("3.0-5"), quiet())
    assert e.value.message.endswith("could not convert string to float: np.str_('age')")


def test_libsvm_indices_are_zero_based_columns_and_labels_are_ignored() -> None:
    matrix = payload.libsvm_matrix(b"1 1:0.5 3:2\n0 0:1").toarray()
    assert matrix.tolist() == [[0.0, 0.5, 0.0, 2.0], [1.0, 0.0, 0.0, 0.0]]
    with pytest.raises(payload.PayloadError) as e:
        payload.parse(b"1 a:b", None, rules("3.0-5"), quiet())
    assert e.value.message.startswith(
        "Loading libsvm data failed with Exception, please ensure data is in libsvm format:\n <class 'ValueError'>\n"
    )


def test_recordio_protobuf_requests_ignore_labels() -> None:
    from sagelocal.algorithms.xgboost.data import _record_module

    common = _record_module()
    buffer = io.BytesIO()
    common.write_numpy_to_dense_tensor(buffer, np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.0, 1.0]))
    parsed = payload.parse(buffer.getvalue(), "application/x-recordio-protobuf", rules("3.0-5"), quiet())
    assert (parsed.kind, parsed.dmatrix.num_row(), parsed.dmatrix.num_col()) == ("recordio-protobuf", 2, 2)
    with pytest.raises(payload.PayloadError) as e:
        payload.parse(b"garbage!", "application/x-recordio-protobuf", rules("3.0-5"), quiet())
    assert e.value.message.startswith(
        "Loading recordio-protobuf data failed with Exception, please ensure data is in recordio-protobuf format: "
    )


# --- response bodies -----------------------------------------------------------------------------------------

SCORES = np.array([0.8793270587921143, 0.09925389289855957], dtype=np.float32)
SOFTPROB = np.array([[0.25, 0.25, 0.5], [0.5, 0.125, 0.375]], dtype=np.float32)


def test_csv_bodies_per_version() -> None:
    new = encoding.encode_scores(SCORES, "text/csv", rules("3.0-5"), batch=False)
    assert (new.body, new.mimetype) == (b"0.8793270587921143\n0.09925389289855957\n", "text/csv")
    old = encoding.encode_scores(SCORES, "", rules("1.0-1"), batch=False)
    assert (old.body, old.mimetype) == (b"0.8793270587921143,0.09925389289855957", "text/csv")
    assert encoding.encode_scores(SCORES, "", rules("1"), batch=False).body == old.body
    soft = encoding.encode_scores(SOFTPROB, "text/csv", rules("1.7-1"), batch=False)
    assert soft.body == b"0.25,0.25,0.5\n0.5,0.125,0.375\n"
    assert encoding.encode_scores(SOFTPROB, "", rules("1.2-1"), batch=False).body == (
        b"[0.25, 0.25, 0.5],[0.5, 0.125, 0.375]"
    )


def test_json_and_batch_bodies() -> None:
    body = encoding.encode_scores(SCORES, "application/json", rules("3.0-5"), batch=False).body
    assert body == b'{"predictions": [{"score": 0.8793270587921143}, {"score": 0.09925389289855957}]}'
    soft = encoding.encode_scores(SOFTPROB, "application/json", rules("3.0-5"), batch=False).body
    assert soft == b'{"predictions": [{"score": [0.25, 0.25, 0.5]}, {"score": [0.5, 0.125, 0.375]}]}'
    for version in ("1", "1.0-1", "3.0-5"):
        batch = encoding.encode_scores(SCORES, "text/csv", rules(version), batch=True).body
        assert batch == b"0.8793270587921143\n0.09925389289855957\n"
    assert encoding.encode_scores(SOFTPROB, "text/csv", rules("3.0-5"), batch=True).body == (
        b"[0.25, 0.25, 0.5]\n[0.5, 0.125, 0.375]\n"
    )
    with pytest.raises(encoding.UnsupportedFormat):
        encoding.encode_scores(SCORES, "application/jsonlines", rules("3.0-5"), batch=False)


@pytest.mark.parametrize(
    ("header", "chosen"),
    [(None, "text/csv"), ("", "text/csv"), ("*/*", "text/csv"), ("Application/JSON", "application/json"),
     ("application/jsonlines; q=1", "application/jsonlines")],
)  # fmt: skip
def test_accept_parsing(header: str | None, chosen: str) -> None:
    assert encoding.parse_accept(header, "text/csv") == chosen


def test_accept_default_comes_from_the_environment_and_unknown_types_are_406() -> None:
    assert encoding.parse_accept("*/*", "application/json") == "application/json"
    with pytest.raises(encoding.NotAcceptable) as e:
        encoding.parse_accept("text/csv, application/json", "text/csv")
    assert e.value.message.startswith("Accept type text/csv, application/json is not supported. ")


# --- selectable inference output ----------------------------------------------------------------------------


def selected(preds: np.ndarray, accept: str, keys: str, objective: str, num_class: str = "", batch: bool = False,
             version: str = "3.0-5") -> bytes:  # fmt: skip
    return encoding.encode_selected(
        preds, accept, encoding.selected_keys(keys), objective, num_class, rules(version), batch, quiet()
    ).body


def test_selectable_binary_logistic() -> None:
    csv_body = selected(SCORES, "text/csv", "predicted_label,probabilities", "binary:logistic")
    assert csv_body == (
        b'1,"[0.12067294120788574, 0.8793270587921143]"\n0,"[0.9007461071014404, 0.09925389289855957]"'
    )
    batch = selected(SCORES, "text/csv", "predicted_label", "binary:logistic", batch=True)
    assert batch == b"1\n0\n"
    body = selected(SCORES, "application/json", "Probability, predicted_label,labels", "binary:logistic")
    assert json.loads(body)["predictions"][0] == {
        "predicted_label": 1,
        "labels": [0, 1],
        "probability": 0.8793270587921143,
    }
    assert body.startswith(b'{"predictions": [{"predicted_label": 1, "labels": [0, 1], "probability": ')
    lines = selected(SCORES, "application/jsonlines", "raw_score", "binary:logistic")
    assert lines == b'{"raw_score": 0.8793270587921143}\n{"raw_score": 0.09925389289855957}\n'


def test_selectable_softprob_regression_and_unsupported() -> None:
    body = selected(SOFTPROB, "application/json", "predicted_label,labels,probability", "multi:softprob", "3")
    assert json.loads(body)["predictions"][1] == {
        "predicted_label": 0,
        "labels": [0, 1, 2],
        "probability": 0.5,
    }
    # keys that do not fit the objective are emitted as NaN
    reg = selected(SCORES, "text/csv", "predicted_score,predicted_label", "reg:squarederror")
    assert reg == b"0.8793270587921143,nan\n0.09925389289855957,nan"
    assert b'"predicted_label": NaN' in selected(
        SCORES, "application/json", "predicted_label", "reg:squarederror"
    )
    with pytest.raises(ValueError, match=r"^Objective `count:poisson` unsupported for selectable inference"):
        selected(SCORES, "text/csv", "predicted_score", "count:poisson")
    assert selected(SCORES, "text/csv", "predicted_score", "reg:absoluteerror").startswith(b"0.879")
    with pytest.raises(ValueError, match="reg:absoluteerror"):
        selected(SCORES, "text/csv", "predicted_score", "reg:absoluteerror", version="1.7-1")


def test_selectable_recordio_frames_are_cumulative_as_in_the_image() -> None:
    from sagelocal.algorithms.xgboost.data import _record_module

    _record_module()
    from sagemaker.amazon.record_pb2 import Record  # type: ignore[import-untyped]

    body = selected(
        SCORES, "application/x-recordio-protobuf", "predicted_label,probability", "binary:logistic"
    )
    frames = []
    stream = io.BytesIO(body)
    while header := stream.read(8):
        magic, length = struct.unpack("II", header)
        assert magic == 0xCED7230A
        frames.append(stream.read(length))
        stream.read((((length + 3) >> 2) << 2) - length)
    assert len(frames) == 2 and frames[1].startswith(frames[0])
    first = Record()
    first.ParseFromString(frames[0])
    assert list(first.label["predicted_label"].float32_tensor.values) == [1.0]
    assert math.isclose(first.label["probability"].float32_tensor.values[0], 0.8793270587921143, rel_tol=1e-7)


# --- model loading and scoring -------------------------------------------------------------------------------


def service(root: Path, version: str, environ: dict[str, str] | None = None) -> ScoringService:
    return ScoringService(read_serving_env(root, environ or {}), rules(version), quiet())


def test_pickled_models_check_the_feature_count(tmp_path: Path) -> None:
    train(tmp_path, "1.2-1")
    scoring = service(tmp_path, "1.2-1")
    assert scoring.invocations(b"1,2,3,4,5", "text/csv", None).body == (
        b"Unable to evaluate payload provided: Feature size of csv inference data 5 is not consistent with "
        b"feature size of trained model 3."
    )
    assert scoring.invocations(b"0:1 5:1", "text/libsvm", None).body == (
        b"Unable to evaluate payload provided: Feature size of libsvm inference data 6 is larger than "
        b"feature size of trained model 3."
    )
    assert scoring.invocations(b"0:1 2:1", "text/libsvm", None).status == 200


def test_order_of_checks(tmp_path: Path) -> None:
    train(tmp_path, "3.0-5")
    scoring = service(tmp_path, "3.0-5")
    assert scoring.invocations(b"", "application/json", "text/libsvm").status == 204
    assert scoring.invocations(b"x", "application/json", "text/libsvm").status == 415
    assert scoring.invocations(b"1,2,3,4", "text/csv", "text/libsvm").status == 400  # before the Accept
    assert scoring.invocations(b"1,2,3", "text/csv", "text/libsvm").status == 406


def test_early_stopped_pickles_score_with_the_best_iteration_but_3_0_5_uses_all_trees(tmp_path: Path) -> None:
    import xgboost as xgb

    rows = np.array([[0.9, 0.1, 0.2], [0.1, 0.2, 0.3]])
    features = np.random.default_rng(0).random((40, 3))
    labels = (features[:, 0] > 0.5).astype(float)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(features, label=labels), 6
    )
    booster.set_attr(best_iteration="1", best_score="0.1")
    model = tmp_path / "model"
    model.mkdir()
    (model / "xgboost-model").write_bytes(pickle.dumps(booster))
    best = booster.predict(xgb.DMatrix(rows), iteration_range=(0, 2)).tolist()
    every = booster.predict(xgb.DMatrix(rows)).tolist()
    assert best != every
    assert service(tmp_path, "1.0-1").invocations(b"0.9,0.1,0.2\n0.1,0.2,0.3", "text/csv", None).body == (
        ",".join(map(repr, best)).encode()
    )
    assert service(tmp_path, "3.0-5").invocations(b"0.9,0.1,0.2\n0.1,0.2,0.3", "text/csv", None).body == (
        "".join(f"{v!r}\n" for v in every).encode()
    )


def test_ensemble_averages_every_model_file_and_skips_dotfiles(tmp_path: Path) -> None:
    import xgboost as xgb

    rows = np.array([[0.9, 0.1, 0.2], [0.1, 0.2, 0.3]])
    model = tmp_path / "model"
    model.mkdir()
    boosters = []
    for i, labels in enumerate(([1, 0], [0, 1])):
        b = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(rows, label=labels), 3)
        (model / f"xgboost-model-{i}").write_bytes(bytes(b.save_raw("ubj")))
        boosters.append(b)
    (model / ".hidden").write_bytes(b"junk")
    log_stream = io.StringIO()
    scoring = ScoringService(read_serving_env(tmp_path, {}), rules("3.0-5"), Log(log_stream))
    reply = scoring.invocations(b"0.9,0.1,0.2", "text/csv", None)
    mean = np.mean([b.predict(xgb.DMatrix(rows[:1])) for b in boosters], axis=0)
    assert reply.body == f"{float(mean[0])!r}\n".encode()
    assert "Ignoring dotfile '/opt/ml/model/.hidden' found in model directory" in log_stream.getvalue()
    assert "Average ensemble prediction of binary:logistic with 2 models" in log_stream.getvalue()
    # SAGEMAKER_INFERENCE_ENSEMBLE=false: the first file only; 1.2-1: always the first file only
    single = service(tmp_path, "3.0-5", {"SAGEMAKER_INFERENCE_ENSEMBLE": "false"})
    assert len(single.load_model().boosters) == 1


def test_vote_is_the_smallest_most_common_value() -> None:
    stacked = np.array([[1.0, 2.0, 0.0], [2.0, 2.0, 1.0], [2.0, 0.0, 2.0]])
    assert loading._vote(stacked).tolist() == [2.0, 2.0, 0.0]


def test_load_errors_per_version(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "xgboost-model").write_bytes(b"corrupt")
    for version, head in (
        ("1.0-1", "Unable to load model: Model at /opt/ml/model cannot be loaded:\n"),
        ("1.5-1", "Unable to load model: Model at /opt/ml/model/xgboost-model cannot be loaded:\n"),
        (
            "1.7-1",
            "Unable to load model: Model /opt/ml/model/xgboost-model cannot be loaded:\nPickle load error=",
        ),
    ):
        reply = service(tmp_path, version).invocations(b"1,2,3", "text/csv", None)
        assert reply.status == 500
        assert reply.body.decode().startswith(head)
