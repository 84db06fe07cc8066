"""A job sees a container, not the host (issue: Environment redirected a job's paths on the host).

Each path a request names (``SM_*`` variables of its Environment, channel names, CheckpointConfig.LocalPath, the
config files those name) is a container path, resolved inside the job's folder; on ``--backend local`` the
variables that would change the host's interpreter or loader are withheld and the job's log says so. Every test
snapshots the file system outside SAGELOCAL_HOME (the test's temporary folders and the files planted there)
before and after, through the local backend and through ``sagelocal serve`` with boto3.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from support.builders import write_files
from support.confinement import changes, snapshot
from support.reliability_cases import (
    BUCKET,
    ENDLESS,
    algorithm_pids,
    assert_store_consistent,
    channel,
    csv_rows,
    kill_leftover_workers,
    request,
    wait_for_rounds,
    wait_terminal,
)
from support.server_fixture import running_server

from sagelocal.backends.local import LocalBackend
from sagelocal.service.execution.environment import host_environment, is_host_affecting

SECRET = "aws_secret_access_key = sagelocal-confinement-secret"
NOTICE_TAIL = (
    "not applied: with --backend local the algorithm runs in this machine's Python, where they would change the "
    "host's interpreter or loader rather than a container's. Run the job with --backend docker to apply them "
    "inside the container, as SageMaker does."
)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path/home`` is SAGELOCAL_HOME; the rest of ``tmp_path`` is "the host"."""
    home = tmp_path / "home"
    home.mkdir()
    yield home
    kill_leftover_workers(home)


def _victim(tmp_path: Path) -> Path:
    """A host folder with files a job must never see."""
    return write_files(
        tmp_path / "victim", {"keep.txt": "precious\n", "credentials": f"[default]\n{SECRET}\n", "sub/x": "x"}
    )


def _backend(home: Path, tmp_path: Path) -> tuple[LocalBackend, str]:
    backend = LocalBackend(home=home)
    backend.default_bucket()
    uri = backend.upload_input(
        write_files(tmp_path / "data", {"train.csv": csv_rows(60)}), f"s3://{BUCKET}/t"
    )
    return backend, uri


def _job(name: str, uri: str, env: dict[str, str], hps: dict[str, str] | None = None, **extra: Any) -> dict:
    job = request(name, [channel("train", uri)], hyperparameters=hps)
    job["Environment"] = env
    job.update(extra)
    return job


def _log(backend: LocalBackend, name: str) -> list[str]:
    return [e["message"] for e in backend.get_log_events(name)]


def _host_outside(tmp_path: Path, home: Path) -> Any:
    return snapshot(tmp_path, exclude=home)


# --- SM_* variables --------------------------------------------------------------------------------------------


def test_save_model_on_termination_clears_only_the_jobs_model_dir(sandbox: Path, tmp_path: Path) -> None:
    """``SM_MODEL_DIR=<host folder>`` + save_model_on_termination: the stop handler clears the model folder,
    which is the job's own copy of that container path, never the host folder."""
    backend, uri = _backend(sandbox, tmp_path)
    victim = _victim(tmp_path)
    before = _host_outside(tmp_path, sandbox)
    hps = {**ENDLESS, "save_model_on_termination": "true"}
    backend.create_training_job(_job("stop-model-dir", uri, {"SM_MODEL_DIR": str(victim)}, hps))
    wait_for_rounds(backend, "stop-model-dir", rounds=2)
    backend.stop_training_job("stop-model-dir")
    desc = wait_terminal(backend.describe_training_job, "stop-model-dir")
    assert desc["TrainingJobStatus"] == "Stopped"
    assert changes(before, _host_outside(tmp_path, sandbox)) == []
    inside = sandbox / "jobs" / "stop-model-dir" / ".rootfs" / str(victim).lstrip("/")
    assert sorted(p.name for p in inside.iterdir()) == ["xgboost-model"]  # the handler ran, in the job


def test_model_dir_up_the_tree_keeps_the_database(sandbox: Path, tmp_path: Path) -> None:
    """``SM_MODEL_DIR=../..`` (from the job's folder: SAGELOCAL_HOME) once let the stop handler delete
    sagelocal.db and its WAL. ``../..`` from /opt/ml is the container's ``/``: the job's own."""
    backend, uri = _backend(sandbox, tmp_path)
    backend.create_training_job(_job("first", uri, {}))
    assert wait_terminal(backend.describe_training_job, "first")["TrainingJobStatus"] == "Completed"
    before = _host_outside(tmp_path, sandbox)
    hps = {**ENDLESS, "save_model_on_termination": "true"}
    backend.create_training_job(_job("climb", uri, {"SM_MODEL_DIR": "../.."}, hps))
    # Stopped once it trains, so that the stop handler surely runs (the server test below ends the same request
    # by a short MaxRuntimeInSeconds, whenever that falls).
    wait_for_rounds(backend, "climb", rounds=2)
    backend.stop_training_job("climb")
    desc = wait_terminal(backend.describe_training_job, "climb", timeout=120)
    assert desc["TrainingJobStatus"] == "Stopped"
    assert (sandbox / "sagelocal.db").exists()
    assert backend.describe_training_job("first")["TrainingJobStatus"] == "Completed"
    report = assert_store_consistent(sandbox)
    assert set(report.statuses) == {"first", "climb"}
    assert sorted(p.name for p in (sandbox / "jobs" / "climb" / ".rootfs").iterdir()) == [
        "tmp",
        "xgboost-model",
    ]
    assert changes(before, _host_outside(tmp_path, sandbox)) == []


def test_sm_channel_train_naming_a_credentials_file_reads_nothing(sandbox: Path, tmp_path: Path) -> None:
    """``SM_CHANNEL_TRAIN=<credentials file>`` once put the file's first line in the FailureReason."""
    backend, uri = _backend(sandbox, tmp_path)
    secret = _victim(tmp_path) / "credentials"
    before = _host_outside(tmp_path, sandbox)
    backend.create_training_job(_job("creds", uri, {"SM_CHANNEL_TRAIN": str(secret)}))
    desc = wait_terminal(backend.describe_training_job, "creds")
    assert desc["TrainingJobStatus"] == "Failed"
    assert_path_failure(desc["FailureReason"], secret)
    assert not any("sagelocal-confinement-secret" in line for line in _log(backend, "creds"))
    assert changes(before, _host_outside(tmp_path, sandbox)) == []


def test_absolute_sm_model_dir_creates_nothing_outside_the_job(sandbox: Path, tmp_path: Path) -> None:
    """An absolute SM_MODEL_DIR (and output folder) is the container's folder: the job's copy of it."""
    backend, uri = _backend(sandbox, tmp_path)
    target = tmp_path / "new" / "models"
    in_tmp = Path("/tmp") / f"sagelocal-confinement-{uuid.uuid4().hex}"
    before = _host_outside(tmp_path, sandbox)
    env = {"SM_MODEL_DIR": str(target), "SM_OUTPUT_DATA_DIR": str(in_tmp)}
    backend.create_training_job(_job("absolute", uri, env, {"num_round": "2", "_kfold": "2"}))
    desc = wait_terminal(backend.describe_training_job, "absolute")
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    assert changes(before, _host_outside(tmp_path, sandbox)) == []
    assert not in_tmp.exists()
    rootfs = sandbox / "jobs" / "absolute" / ".rootfs"
    assert sorted(p.name for p in (rootfs / str(target).lstrip("/")).iterdir()) == [
        "xgboost-model-0",
        "xgboost-model-1",
    ]
    assert (rootfs / str(in_tmp).lstrip("/") / "predictions.csv").is_file()
    # As on SageMaker, the model is where the algorithm wrote it, not in /opt/ml/model: the artifact is empty.
    assert list((sandbox / "jobs" / "absolute" / "model").iterdir()) == []


def test_sm_variables_through_the_server(sandbox: Path, tmp_path: Path) -> None:
    """The same requests through ``sagelocal serve`` and boto3 (its supervisors start warm)."""
    victim = _victim(tmp_path)
    data = write_files(tmp_path / "data", {"train.csv": csv_rows(60)})
    with running_server(sandbox) as server:
        s3, sm = server.client("s3"), server.client("sagemaker")
        s3.create_bucket(Bucket="bkt")
        s3.upload_file(str(data / "train.csv"), "bkt", "t/train.csv")
        before = _host_outside(tmp_path, sandbox)
        cases = {
            "srv-model-dir": {"SM_MODEL_DIR": str(victim)},
            "srv-climb": {"SM_MODEL_DIR": "../.."},
            "srv-creds": {"SM_CHANNEL_TRAIN": str(victim / "credentials")},
            "srv-config": {"SM_INPUT_TRAINING_CONFIG_FILE": str(victim / "keep.txt")},
        }
        hps = {**ENDLESS, "save_model_on_termination": "true"}
        for name, env in cases.items():
            job = _job(name, "s3://bkt/t", env, hps, OutputDataConfig={"S3OutputPath": "s3://bkt/out"})
            job["StoppingCondition"] = {"MaxRuntimeInSeconds": 8}
            sm.create_training_job(**job)
        ended = {
            name: wait_terminal(lambda n: sm.describe_training_job(TrainingJobName=n), name) for name in cases
        }
        assert changes(before, _host_outside(tmp_path, sandbox)) == []
    assert ended["srv-model-dir"]["TrainingJobStatus"] == "Stopped"
    assert ended["srv-climb"]["TrainingJobStatus"] == "Stopped"
    assert_path_failure(ended["srv-creds"]["FailureReason"], victim / "credentials")
    # A config file the environment names that does not exist in the container: the job's own is read.
    assert ended["srv-config"]["TrainingJobStatus"] == "Stopped"
    assert (sandbox / "sagelocal.db").exists()
    assert_store_consistent(sandbox)


def assert_path_failure(reason: str, path: Path) -> None:
    """The image's framework-error traceback for a train channel path with no data: the path named, as the
    image names it, and nothing read from the file there."""
    assert reason.startswith("AlgorithmError: framework error: \nTraceback (most recent call last):\n")
    assert "sagelocal-confinement-secret" not in reason
    assert f"No data in training channel path {path}"[:40] in reason


# --- checkpoints ----------------------------------------------------------------------------------------------


def test_restored_checkpoints_cannot_replace_the_jobs_config(sandbox: Path, tmp_path: Path) -> None:
    """LocalPath /opt/ml and an object ``…/input/config/checkpointconfig.json`` once replaced the job's config
    on restore, and the algorithm wrote checkpoints to the host folder that file named. A restored module in the
    job's working directory is not imported either."""
    backend, uri = _backend(sandbox, tmp_path)
    outside = tmp_path / "outside-checkpoints"
    marker = tmp_path / "imported"
    objects = backend.emulator.objects
    planted = {
        "ckpt/input/config/checkpointconfig.json": json.dumps(
            {"LocalPath": str(outside), "S3Uri": "s3://x/y"}
        ),
        "ckpt/input/config/hyperparameters.json": json.dumps({"num_round": "1", "planted": "yes"}),
        "ckpt/input/config/inputdataconfig.json/nested": "a folder where the platform writes a file",
        "ckpt/input/data": "a file where the platform makes a folder",
        "ckpt/xgboost.py": f"open({str(marker)!r}, 'w').write('imported')\n",
        "ckpt/sagelocal/__init__.py": f"open({str(marker)!r}, 'w').write('imported')\n",
    }
    for key, body in planted.items():
        objects.put_object(BUCKET, key, body.encode())
    before = _host_outside(tmp_path, sandbox)
    job = _job(
        "ckpt-config", uri, {}, CheckpointConfig={"S3Uri": f"s3://{BUCKET}/ckpt", "LocalPath": "/opt/ml"}
    )
    backend.create_training_job(job)
    desc = wait_terminal(backend.describe_training_job, "ckpt-config")
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    config = sandbox / "jobs" / "ckpt-config" / "input" / "config"
    assert json.loads((config / "hyperparameters.json").read_text()) == desc["HyperParameters"]
    assert json.loads((config / "checkpointconfig.json").read_text()) == {
        "LocalPath": "/opt/ml",
        "S3Uri": f"s3://{BUCKET}/ckpt",
    }
    assert json.loads((config / "inputdataconfig.json").read_text())["train"]["ContentType"] == "text/csv"
    # checkpoints went to /opt/ml (3.0-5 names its one checkpoint as XGBoost's TrainingCheckPoint does)
    assert (sandbox / "jobs" / "ckpt-config" / "xgboost-checkpoint_0.ubj").is_file()
    assert not marker.exists() and not outside.exists()
    assert changes(before, _host_outside(tmp_path, sandbox)) == []


def test_checkpoint_config_file_named_by_the_environment_stays_in_the_job(
    sandbox: Path, tmp_path: Path
) -> None:
    """SM_CHECKPOINT_CONFIG_FILE at a restored object whose LocalPath names a host folder: the algorithm's
    checkpoints go to the job's copy of that container folder."""
    backend, uri = _backend(sandbox, tmp_path)
    outside = tmp_path / "outside-checkpoints"
    backend.emulator.objects.put_object(
        BUCKET, "ck2/other.json", json.dumps({"LocalPath": str(outside), "S3Uri": "s3://x/y"}).encode()
    )
    before = _host_outside(tmp_path, sandbox)
    env = {"SM_CHECKPOINT_CONFIG_FILE": "/opt/ml/checkpoints/other.json"}
    job = _job("ckpt-env", uri, env, CheckpointConfig={"S3Uri": f"s3://{BUCKET}/ck2"})
    backend.create_training_job(job)
    desc = wait_terminal(backend.describe_training_job, "ckpt-env")
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    inside = sandbox / "jobs" / "ckpt-env" / ".rootfs" / str(outside).lstrip("/")
    assert sorted(p.name for p in inside.iterdir()) == ["xgboost-checkpoint_0.ubj"]
    assert changes(before, _host_outside(tmp_path, sandbox)) == []


# --- host-affecting variables ---------------------------------------------------------------------------------


def _sitecustomize(backend: LocalBackend, marker: Path) -> str:
    """PutObject of a sitecustomize.py that leaves ``marker``; returns PYTHONPATH from a job folder to it."""
    backend.emulator.objects.put_object(
        BUCKET, "evil/sitecustomize.py", f"open({str(marker)!r}, 'w').write('ran')\n".encode()
    )
    folder = backend.emulator.objects.object_path(BUCKET, "evil/sitecustomize.py").parent
    return "../../" + folder.relative_to(backend.emulator.paths.home).as_posix()


def test_interpreter_variables_are_not_applied_on_the_host(sandbox: Path, tmp_path: Path) -> None:
    """PYTHONPATH at an uploaded sitecustomize.py once ran it as the server's user; now the job's log names the
    variables withheld, and the others apply."""
    backend, uri = _backend(sandbox, tmp_path)
    marker = tmp_path / "sitecustomize-ran"
    env = {
        "PYTHONPATH": _sitecustomize(backend, marker),
        "LD_PRELOAD": str(tmp_path / "libevil.so"),
        "HOME": "../../s3",
        "OMP_NUM_THREADS": "1",
        "SM_LOG_LEVEL": "20",
    }
    before = _host_outside(tmp_path, sandbox)
    backend.create_training_job(_job("interp", uri, env))
    desc = wait_terminal(backend.describe_training_job, "interp")
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    assert not marker.exists()
    log = _log(backend, "interp")
    assert log[0] == f"sagelocal: Environment variables HOME, LD_PRELOAD, PYTHONPATH are {NOTICE_TAIL}"
    assert not any("libevil" in line for line in log)  # the loader never tried to preload it
    assert changes(before, _host_outside(tmp_path, sandbox)) == []


def test_warm_algorithm_gets_only_the_applicable_variables(sandbox: Path, tmp_path: Path) -> None:
    """Under ``serve`` (the algorithm forked from a warm worker): the same rule, and the applicable variables
    reach the forked algorithm (its SM_MODEL_DIR moves the model)."""
    data = write_files(tmp_path / "data", {"train.csv": csv_rows(60)})
    marker = tmp_path / "sitecustomize-ran"
    with running_server(sandbox) as server:
        s3, sm = server.client("s3"), server.client("sagemaker")
        s3.create_bucket(Bucket="bkt")
        s3.upload_file(str(data / "train.csv"), "bkt", "t/train.csv")
        s3.put_object(
            Bucket="bkt", Key="evil/sitecustomize.py", Body=f"open({str(marker)!r}, 'w')\n".encode()
        )
        before = _host_outside(tmp_path, sandbox)
        env = {
            "PYTHONPATH": "../../s3/bkt/evil",
            "LD_PRELOAD": "libevil.so",
            "PATH": "/x",
            "SM_MODEL_DIR": "/opt/ml/output/data",
        }
        job = _job("warm-env", "s3://bkt/t", env, OutputDataConfig={"S3OutputPath": "s3://bkt/out"})
        sm.create_training_job(**job)
        desc = wait_terminal(lambda n: sm.describe_training_job(TrainingJobName=n), "warm-env")
        assert changes(before, _host_outside(tmp_path, sandbox)) == []
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    assert not marker.exists()
    assert (sandbox / "jobs" / "warm-env" / "output" / "data" / "xgboost-model").is_file()
    log = _log(LocalBackend(home=sandbox), "warm-env")
    assert log[0] == f"sagelocal: Environment variables LD_PRELOAD, PATH, PYTHONPATH are {NOTICE_TAIL}"


def test_cold_algorithm_environment(sandbox: Path, tmp_path: Path) -> None:
    """The running algorithm's environment, read from /proc (a cold start execs it with that environment)."""
    backend, uri = _backend(sandbox, tmp_path)
    env = {
        "PYTHONPATH": "../../s3",
        "LD_PRELOAD": "libevil.so",
        "MY_SETTING": "on",
        "PATH": "/x",
        "TMPDIR": "/",
    }
    backend.create_training_job(_job("cold-env", uri, env, ENDLESS))
    wait_for_rounds(backend, "cold-env", rounds=2)
    environs = [_environ(pid) for pid in algorithm_pids(sandbox, "cold-env")]
    backend.stop_training_job("cold-env")
    wait_terminal(backend.describe_training_job, "cold-env")
    assert len(environs) == 1
    found = environs[0]
    assert found["MY_SETTING"] == "on"
    assert "LD_PRELOAD" not in found and found["PATH"] != "/x" and "s3" not in found.get("PYTHONPATH", "")
    assert found["TMPDIR"] == str(sandbox / "jobs" / "cold-env" / ".rootfs" / "tmp")


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


@pytest.mark.parametrize(
    ("name", "withheld"),
    [
        ("LD_PRELOAD", True),
        ("LD_LIBRARY_PATH", True),
        ("DYLD_INSERT_LIBRARIES", True),
        ("PYTHONPATH", True),
        ("PYTHONSTARTUP", True),
        ("PYTHONHOME", True),
        ("PATH", True),
        ("HOME", True),
        ("TMPDIR", True),
        ("PERL5LIB", True),
        ("RUBYLIB", True),
        ("NODE_OPTIONS", True),
        ("BASH_ENV", True),
        ("GCONV_PATH", True),
        ("XDG_CONFIG_HOME", True),
        ("OMP_TOOL_LIBRARIES", True),
        ("SAGELOCAL_HOME", True),
        ("OMP_NUM_THREADS", False),
        ("SM_MODEL_DIR", False),
        ("SAGEMAKER_PROGRAM", False),
        ("MY_PATH", False),
        ("path", False),
    ],
)
def test_the_host_rule(name: str, withheld: bool) -> None:
    assert is_host_affecting(name) is withheld
    split = host_environment({name: "v", "KEEP": "1"})
    assert (name in split.withheld) is withheld
    assert split.applied == ({"KEEP": "1"} if withheld else {name: "v", "KEEP": "1"})


def test_a_nul_in_a_value_is_withheld_with_its_own_notice() -> None:
    split = host_environment({"A": "x\x00y", "B": "ok", "PYTHONPATH": "p"})
    assert split.applied == {"B": "ok"}
    assert split.notices() == [
        f"sagelocal: Environment variable PYTHONPATH is {NOTICE_TAIL}",
        "sagelocal: Environment A is not applied: a value holding a NUL character cannot be put in a process's "
        "environment.",
    ]


# --- fuzzing ----------------------------------------------------------------------------------------------------

_PIECES = ["..", ".", "/", "~", "%2e%2e", "\x00", "a" * 300, "é/ü", "opt", "ml", "input", "tmp", "model", "§"]
_PATH_KEYS = [
    "SM_MODEL_DIR",
    "SM_CHANNEL_TRAIN",
    "SM_CHANNEL_VALIDATION",
    "SM_OUTPUT_DATA_DIR",
    "SM_OUTPUT_DIR",
    "SM_INPUT_TRAINING_CONFIG_FILE",
    "SM_INPUT_DATA_CONFIG_FILE",
    "SM_CHECKPOINT_CONFIG_FILE",
    "PYTHONPATH",
    "HOME",
    "TMPDIR",
    "LD_PRELOAD",
]


def _paths(outside: str) -> st.SearchStrategy[str]:
    piece = st.sampled_from([*_PIECES, outside, "/opt/ml", "../../../.."])
    joined = st.lists(piece, min_size=1, max_size=6).map("/".join)
    return st.one_of(joined, st.text(st.characters(exclude_categories=("Cs",)), max_size=20)).map(
        lambda s: s[:512]
    )


def _specs(outside: str) -> st.SearchStrategy[dict[str, Any]]:
    key = st.one_of(st.sampled_from(_PATH_KEYS), st.from_regex(r"[A-Z_][A-Z0-9_]{0,12}", fullmatch=True))
    return st.fixed_dictionaries(
        {
            "env": st.dictionaries(key, _paths(outside), max_size=4),
            # One extra channel at most: the algorithm refuses extraneous channels, after the layout is built.
            "channels": st.lists(
                st.sampled_from([".", "..", "...", "-", "validation", "a..b", "x" * 64]), max_size=1
            ),
            "local_path": st.one_of(st.none(), _paths(outside).map(lambda s: s.replace("\n", ""))),
            "stop_save": st.booleans(),
        }
    )


@pytest.fixture(scope="module")
def fuzz_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("fuzz")
    home = root / "home"
    backend = LocalBackend(home=home)
    backend.default_bucket()
    backend.upload_input(write_files(root / "data", {"train.csv": csv_rows(40)}), f"s3://{BUCKET}/t")
    for key in ("ck/input/config/checkpointconfig.json", "ck/input/config/hyperparameters.json", "ck/x"):
        backend.emulator.objects.put_object(
            BUCKET, key, json.dumps({"LocalPath": str(root / "out")}).encode()
        )
    yield root, home
    kill_leftover_workers(home)


_counter = iter(range(10_000))


# Each example runs three real jobs (seconds each): few examples, and no shrinking, which would rerun jobs for
# minutes; the failing draw is printed as it is.
@settings(
    max_examples=4,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_fuzzed_paths_end_every_job_inside_its_folder(
    fuzz_home: tuple[Path, Path], data: st.DataObject
) -> None:
    """Three jobs per example (twelve in all), run together: path-like Environment values, channel names and
    checkpoint paths. Each ends Completed or Failed, never with an internal error, and nothing changes outside
    its folder."""
    root, home = fuzz_home
    outside = str(root / "out")
    backend = LocalBackend(home=home)
    specs = [data.draw(_specs(outside)) for _ in range(3)]
    absolute = {
        Path(v.replace("\x00", ""))
        for s in specs
        for v in [*s["env"].values(), s["local_path"] or ""]
        if "/" in v
    }
    watched = sorted({p for p in absolute if p.is_absolute()} | {Path(outside)}, key=str)[:50]
    existed = {p: _exists(p) for p in watched}
    before = snapshot(root, exclude=home)
    names = []
    for spec in specs:
        name = f"fuzz-{next(_counter)}"
        names.append(name)
        channels = [channel("train", f"s3://{BUCKET}/t")] + [
            channel(c, f"s3://{BUCKET}/t") for c in spec["channels"]
        ]
        hps = {"num_round": "2", "objective": "binary:logistic"}
        if spec["stop_save"]:
            hps["save_model_on_termination"] = "true"
        job = request(name, channels, hyperparameters=hps)
        job["Environment"] = spec["env"]
        if spec["local_path"] is not None:
            job["CheckpointConfig"] = {"S3Uri": f"s3://{BUCKET}/ck", "LocalPath": spec["local_path"][:4096]}
        backend.create_training_job(job)
    for name, spec in zip(names, specs, strict=True):
        desc = wait_terminal(backend.describe_training_job, name, timeout=120)
        assert desc["TrainingJobStatus"] in ("Completed", "Failed"), (spec, desc["TrainingJobStatus"])
        reason = desc.get("FailureReason", "")
        assert not reason.startswith("InternalServerError"), (spec, reason)
        supervisor_log = (home / "jobs" / name / "supervisor.log").read_text(errors="replace")
        assert "Traceback" not in supervisor_log, (spec, supervisor_log)
    assert changes(before, snapshot(root, exclude=home)) == [], specs
    assert {p: _exists(p) for p in watched} == existed, specs
    assert sorted(p.name for p in home.iterdir()) == [
        "jobs",
        "s3",
        "sagelocal.db",
        "sagelocal.db-shm",
        "sagelocal.db-wal",
        "tmp",  # StatePaths.temp: the service's own scratch space (request spooling)
    ]
    assert set(_job_folders(home)) <= {f"fuzz-{i}" for i in range(10_000)}


def _exists(path: Path) -> bool | str:
    try:
        return os.path.lexists(path)
    except (OSError, ValueError) as e:  # a name too long for this file system names nothing
        return type(e).__name__


def _job_folders(home: Path) -> list[str]:
    return [p.name for p in (home / "jobs").iterdir()]


# --- --backend docker: the container is the confinement ---------------------------------------------------------


@pytest.mark.docker
def test_docker_applies_the_environment_inside_the_container(
    docker_client: Any, own_images: dict[str, str], sandbox: Path, tmp_path: Path
) -> None:
    """With ``--backend docker`` the request's Environment is the container's, as on SageMaker: the loader
    variable acts in the container (its loader reports the missing library), ``SM_MODEL_DIR`` moves the model,
    and sagelocal withholds nothing."""
    from sagelocal.backends.docker import DockerBackend

    backend = DockerBackend(home=sandbox)
    backend.default_bucket()
    uri = backend.upload_input(
        write_files(tmp_path / "data", {"train.csv": csv_rows(60)}), f"s3://{BUCKET}/t"
    )
    before = _host_outside(tmp_path, sandbox)
    env = {"LD_PRELOAD": "libsagelocal-absent.so", "SM_MODEL_DIR": "/opt/ml/output/data", "PYTHONPATH": "/x"}
    backend.create_training_job(_job("docker-env", uri, env))
    desc = wait_terminal(backend.describe_training_job, "docker-env", timeout=600)
    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    log = [e["message"] for e in backend.get_log_events("docker-env")]
    assert any("libsagelocal-absent.so" in line and "cannot be preloaded" in line for line in log), log[:5]
    assert not any(line.startswith("sagelocal: Environment") for line in log)
    assert (sandbox / "jobs" / "docker-env" / "output" / "data" / "xgboost-model").is_file()
    assert changes(before, _host_outside(tmp_path, sandbox)) == []
