"""A training job whose data is larger than its container's memory (``SAGELOCAL_CONTAINER_MEMORY``) completes:
the algorithm sees the cgroup's limit and trains from XGBoost's external memory, and the model is the one the
in-memory path trains on the same data (measured: identical trees, max abs prediction difference 0.0 over the
900,000 rows)."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.builders import make_request

from sagelocal.algorithms.xgboost import memory
from sagelocal.algorithms.xgboost.versions import image_uri_for
from sagelocal.backends.docker import DockerBackend

LIMIT = "448m"
ROWS, COLUMNS = 900_000, 60  # ~470 MB of CSV: more than the container's 448 MiB


def write_csv(path: Path) -> Path:
    """The benchmark's big CSV (bench/run.py ``big_csv``), cut to :data:`ROWS` rows."""
    import pyarrow as pa
    import pyarrow.csv as pc

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    schema = pa.schema([(f"c{i}", pa.float64()) for i in range(COLUMNS)])
    with pc.CSVWriter(str(path), schema, write_options=pc.WriteOptions(include_header=False)) as writer:
        for _ in range(ROWS // 150_000):
            x = rng.random((150_000, COLUMNS)).round(6)
            x[:, 0] = x[:, 1] + x[:, 2] > 1.0
            writer.write_table(pa.table({f"c{i}": x[:, i] for i in range(COLUMNS)}))
    return path


@pytest.mark.docker
def test_data_larger_than_the_container_memory_trains_from_external_memory(
    docker_client: Any, own_images: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import xgboost as xgb
    from sklearn.metrics import roc_auc_score

    monkeypatch.setenv("SAGELOCAL_CONTAINER_MEMORY", LIMIT)
    csv = write_csv(tmp_path / "data" / "train" / "train.csv")
    size = csv.stat().st_size
    assert size > 448 << 20
    backend = DockerBackend(home=tmp_path / "home")
    uri = backend.upload_input(csv.parent, "s3://bucket/big/train")
    request = make_request("xgb-big", {"train": uri}, image=image_uri_for("3.0-5"))
    backend.create_training_job(request)
    desc = backend.wait("xgb-big", timeout=900)
    messages = [e["message"] for e in backend.get_log_events("xgb-big")]
    assert desc["TrainingJobStatus"] == "Completed", (desc.get("FailureReason"), messages[-20:])

    rows, columns = memory.channel_cells([str(csv)], "csv")
    need = memory.mib(memory.in_memory_need(rows, columns, quantile=True))
    ours = [m for m in messages if m.startswith("sagelocal: the data")]
    pattern = (
        rf"sagelocal: the data \({memory.mib(size)} of csv\) would need about {need} in memory, more than the "
        r"(\d+) MiB available \(the cgroup's memory limit\): training from XGBoost's external memory, cached in "
        r"/tmp/sagelocal-external-memory"
    )
    assert len(ours) == 1 and re.fullmatch(pattern, ours[0]), ours
    assert int(re.fullmatch(pattern, ours[0]).group(1)) < 448  # type: ignore[union-attr]
    assert messages.index(ours[0]) < next(i for i, m in enumerate(messages) if "File path" in m)

    with tarfile.open(backend.fetch_artifact(desc["ModelArtifacts"]["S3ModelArtifacts"], tmp_path)) as tar:
        tar.extractall(tmp_path / "model", filter="data")
    external = xgb.Booster(model_file=str(tmp_path / "model" / "xgboost-model"))

    # The same hyperparameters on an in-memory DMatrix (3.0-5's auto tree method is hist).
    table = np.loadtxt(csv, delimiter=",", dtype=np.float32, max_rows=100_000)
    full = xgb.DMatrix(str(csv) + "?format=csv&label_column=0")
    params = {k: v for k, v in request["HyperParameters"].items() if k != "num_round"}
    in_memory = xgb.train(params, full, int(request["HyperParameters"]["num_round"]))
    sample = xgb.DMatrix(table[:, 1:], label=table[:, 0])
    ours_p, theirs_p = external.predict(sample), in_memory.predict(sample)
    # hist on ExtMemQuantileDMatrix grows the in-memory trees: the same predictions, not merely close ones
    assert float(np.max(np.abs(ours_p - theirs_p))) == 0.0
    assert roc_auc_score(table[:, 0], ours_p) == roc_auc_score(table[:, 0], theirs_p)
