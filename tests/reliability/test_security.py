"""Security: nothing a client sends can make sagelocal touch files outside its state directory.

* S3 keys and bucket names with ``..``, absolute paths, NUL bytes, backslashes and percent-encoded tricks, sent
  raw over HTTP to the server and through the ``sagelocal s3`` CLI: every object lands inside its bucket folder
  under its exact key (or the request is refused), and downloads never leave their destination.
* Training job names and channel names used as paths, and a CheckpointConfig.LocalPath pointing elsewhere.
* Tarballs: packing skips links and special files; extraction refuses members that would land outside.
* The server listens on loopback unless told otherwise.
* Pickles: sagelocal writes pickled models (old images did) but never unpickles anything.
"""

from __future__ import annotations

import ast
import io
import json
import os
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support.builders import write_files
from support.reliability_cases import (
    BUCKET,
    assert_store_consistent,
    channel,
    cli_env,
    csv_rows,
    kill_leftover_workers,
    request,
    run_cli,
    wait_terminal,
)
from support.server_fixture import Server, clean_environ, running_server

from sagelocal.backends.local import LocalBackend
from sagelocal.service.training import artifacts

REPO_ROOT = Path(__file__).resolve().parents[2]
MARKER = b"sagelocal-security-marker"

#: Raw request paths (after ``/<bucket>/``) as an attacker would send them, not normalized by any client.
NASTY_KEYS = [
    "../escape-1",
    "../../escape-2",
    "a/../../../escape-3",
    "%2e%2e/escape-4",
    "%2E%2E%2F%2E%2E%2Fescape-5",
    "..%2f..%2fescape-6",
    "%2fetc%2fescape-7",
    "/etc/escape-8",
    "a/%2e%2e/%2e%2e/%2e%2e/escape-9",
    "..%5c..%5cescape-10",
    "%252e%252e%252fescape-11",
    "./././escape-12",
    "a//..//..//escape-13",
    "%c0%ae%c0%ae/escape-14",
    "a/%00/escape-15",
    "escape-16%00.txt",
    ".staging/escape-17",
    ".meta.db",
    ".s3~../escape-19",
]
NASTY_BUCKETS = ["..", "%2e%2e", ".staging", "%2e%2e%2fsagelocal.db", "a%2f..%2f..", "jobs"]


def files_outside(root: Path, allowed: Path) -> list[str]:
    """Files under ``root`` holding the marker, except inside ``allowed``."""
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and not path.is_relative_to(allowed):
            try:
                if MARKER in path.read_bytes():
                    found.append(str(path.relative_to(root)))
            except OSError:
                continue
    return found


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path/outer/inner/home`` is the state directory; anything written to ``outer`` is an escape."""
    home = tmp_path / "outer" / "inner" / "home"
    home.mkdir(parents=True)
    yield home
    kill_leftover_workers(home)


def raw_request(
    server: Server,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict | None = None,
    service: str = "s3",
) -> tuple:
    """``path`` byte for byte, signed with the server's credentials (the attacks here are on paths, not on
    authentication: tests/server/test_server_auth_e2e.py covers that)."""
    response = server.send(method, path, body, headers, service=service)
    return response.status, response.body


# --- S3 keys through the server ---------------------------------------------------------------------------


def test_s3_keys_and_buckets_stay_in_the_store_via_the_server(sandbox: Path) -> None:
    outer = sandbox.parents[1]
    with running_server(sandbox) as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="safe")
        accepted: dict[str, int] = {}
        for raw in NASTY_KEYS:
            status, _ = raw_request(server, "PUT", f"/safe/{raw}", MARKER + raw.encode())
            assert status in (200, 400), (raw, status)
            accepted[raw] = status
        for raw in NASTY_BUCKETS:
            status, _ = raw_request(server, "PUT", f"/{raw}/escape-bucket", MARKER)
            assert status in (400, 404), (raw, status)
            status, _ = raw_request(server, "PUT", f"/{raw}")
            assert status == (200 if raw == "jobs" else 400), (raw, status)  # "jobs" is a valid bucket name
        # Everything that was stored is an object of bucket "safe" under the key the client meant, and
        # reads back as written.
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="safe").get("Contents", [])]
        for key in keys:
            body = s3.get_object(Bucket="safe", Key=key)["Body"].read()
            assert body.startswith(MARKER)
        assert len(keys) == sum(1 for status in accepted.values() if status == 200)
        assert "../escape-1" in keys and "%2e%2e/escape-4" not in keys  # percent-decoding happens once
        assert "../escape-4" in keys and "%2e%2e%2fescape-11" in keys
        # NUL and invalid UTF-8 are refused.
        assert accepted["a/%00/escape-15"] == 400 and accepted["%c0%ae%c0%ae/escape-14"] == 400
    assert files_outside(outer, sandbox / "s3" / "safe") == []
    assert not (sandbox / "sagelocal.db").read_bytes().startswith(MARKER)
    assert_store_consistent(sandbox)


def test_s3_keys_stay_in_the_store_via_boto3(sandbox: Path) -> None:
    """The same keys as a well-behaved SDK sends them (percent-encoded once by botocore)."""
    outer = sandbox.parents[1]
    # ("." and ".." alone are valid keys too, but a key cannot be both a file and the folder of "../x" in a
    # store that keeps objects as files; test_objectstore covers them.)
    keys = ["../x", "../../y", "/abs/z", "a/../../../w", "..\\v", "%2e%2e/u", "./t", "a/./b/../c", "~/s"]
    with running_server(sandbox) as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="safe")
        for key in keys:
            s3.put_object(Bucket="safe", Key=key, Body=MARKER + key.encode())
        for key in keys:
            assert s3.get_object(Bucket="safe", Key=key)["Body"].read() == MARKER + key.encode()
        listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="safe")["Contents"])
        assert listed == sorted(keys)
        for key in keys:
            s3.delete_object(Bucket="safe", Key=key)
        assert s3.list_objects_v2(Bucket="safe")["KeyCount"] == 0
    assert files_outside(outer, sandbox / "s3" / "safe") == []


# --- S3 keys through the CLI ------------------------------------------------------------------------------


def test_s3_keys_stay_in_the_store_via_the_cli(sandbox: Path, tmp_path: Path) -> None:
    outer = sandbox.parents[1]
    source = tmp_path / "payload.bin"
    source.write_bytes(MARKER)
    assert run_cli(sandbox, "s3", "mb", "s3://safe").returncode == 0
    # The absolute key points into tmp_path, so even a broken download cannot write to the real filesystem.
    absolute = f"{tmp_path}/abs/cli-3"
    keys = ["../cli-1", "../../cli-2", absolute, "a/../../../../cli-4", "%2e%2e/cli-5", "..\\cli-6"]
    for key in keys:
        result = run_cli(sandbox, "s3", "cp", str(source), f"s3://safe/{key}")
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"upload: {source} to s3://safe/{key}\n" or result.stdout.startswith(
            "upload: "
        )
    listed = run_cli(sandbox, "s3", "ls", "s3://safe", "--recursive")
    assert listed.returncode == 0
    assert sorted(line.rsplit(" ", 1)[-1] for line in listed.stdout.splitlines()) == sorted(keys)
    assert files_outside(outer, sandbox / "s3" / "safe") == []

    # Downloading such keys never writes outside the destination folder.
    dest = outer / "inner" / "download" / "here"
    dest.mkdir(parents=True)
    result = run_cli(sandbox, "s3", "cp", "s3://safe/", str(dest), "--recursive")
    assert "Traceback" not in result.stderr
    outside = [
        p
        for p in files_outside(tmp_path, sandbox / "s3" / "safe")
        if not p.startswith(str((dest).relative_to(tmp_path)))
    ]
    assert outside == ["payload.bin"], outside
    assert not Path(absolute).exists()
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith("sagelocal s3 cp: refusing to download ")


# --- job and channel names --------------------------------------------------------------------------------


def test_job_names_stay_in_the_store_via_the_server(sandbox: Path, tmp_path: Path) -> None:
    outer = sandbox.parents[1]
    data = write_files(tmp_path / "data", {"train.csv": csv_rows()})
    names = [
        "../escape",
        "../../escape",
        "/tmp/escape",
        "a/../../b",
        "..",
        ".",
        "x\x00y",
        "%2e%2e",
        "jobs/../x",
    ]
    with running_server(sandbox) as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="safe")
        s3.upload_file(str(data / "train.csv"), "safe", "train/train.csv")
        for name in names:
            body = request(name, [channel("train", "s3://safe/train")], output="s3://safe/out")
            for operation, payload in (
                ("CreateTrainingJob", body),
                ("DescribeTrainingJob", {"TrainingJobName": name}),
                ("StopTrainingJob", {"TrainingJobName": name}),
            ):
                status, answer = raw_request(
                    server, "POST", "/", json.dumps(payload).encode(),
                    {"X-Amz-Target": f"SageMaker.{operation}", "Content-Type": "application/x-amz-json-1.1"},
                    "sagemaker",
                )  # fmt: skip
                assert status == 400, (name, operation, answer)
                error = json.loads(answer)
                assert error["__type"].rsplit("#", 1)[-1] == "ValidationException", error
        status, answer = raw_request(
            server, "POST", "/", json.dumps({"logGroupName": "/aws/sagemaker/TrainingJobs",
                                             "logStreamNamePrefix": "../../"}).encode(),
            {"X-Amz-Target": "Logs_20140328.DescribeLogStreams", "Content-Type": "application/x-amz-json-1.1"},
            "logs",
        )  # fmt: skip
        assert status in (200, 400)
    jobs = sandbox / "jobs"
    assert not jobs.exists() or list(jobs.iterdir()) == []
    assert sorted(p.name for p in outer.iterdir()) == ["inner"]
    assert sorted(p.name for p in (outer / "inner").iterdir()) == ["home", "home-aws"]


def test_job_names_stay_in_the_store_via_the_cli(sandbox: Path, tmp_path: Path) -> None:
    data = write_files(tmp_path / "data", {"train.csv": csv_rows()})
    calls = [
        args
        for name in ["../escape", "/tmp/escape", "..", "a/../b"]
        for args in (
            ["train", "--job-name", name, "--train", str(data), "--content-type", "csv"],
            ["jobs", "describe", name],
            ["jobs", "logs", name],
            ["jobs", "stop", name],
        )
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda args: run_cli(sandbox, *args), calls))
    for args, result in zip(calls, results, strict=True):
        assert result.returncode == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert "(ValidationException)" in result.stderr.splitlines()[-1]
    jobs = sandbox / "jobs"
    assert not jobs.exists() or list(jobs.iterdir()) == []
    assert not (tmp_path / "escape").exists() and not Path("/tmp/escape").exists()


def test_checkpoint_local_path_cannot_write_outside_the_job(sandbox: Path, tmp_path: Path) -> None:
    """CheckpointConfig.LocalPath names a folder inside the container; it must not become a host path."""
    outside = tmp_path / "outside-checkpoints"
    backend = LocalBackend(home=sandbox)
    backend.default_bucket()
    uri = backend.upload_input(write_files(tmp_path / "data", {"train.csv": csv_rows()}), f"s3://{BUCKET}/t")
    backend.emulator.objects.put_object(BUCKET, "ckpt/planted", MARKER)
    job = request("ckpt-escape", [channel("train", uri)])
    job["CheckpointConfig"] = {"S3Uri": f"s3://{BUCKET}/ckpt", "LocalPath": str(outside)}
    backend.create_training_job(job)
    desc = wait_terminal(backend.describe_training_job, "ckpt-escape")
    assert not outside.exists(), sorted(p.name for p in outside.iterdir())
    assert desc["TrainingJobStatus"] == "Failed"
    assert desc["FailureReason"] == (
        f"ClientError: CheckpointConfig.LocalPath '{outside}' is not a folder under /opt/ml; sagelocal maps only "
        "/opt/ml into the job (default /opt/ml/checkpoints)."
    )
    assert files_outside(tmp_path, sandbox) == []
    # A path that only starts with /opt/ml but climbs out of it is refused the same way.
    job = request("ckpt-climb", [channel("train", uri)])
    job["CheckpointConfig"] = {"S3Uri": f"s3://{BUCKET}/ckpt", "LocalPath": "/opt/ml/../../" + str(outside)}
    backend.create_training_job(job)
    desc = wait_terminal(backend.describe_training_job, "ckpt-climb")
    assert desc["FailureReason"].startswith("ClientError: CheckpointConfig.LocalPath '/opt/ml/../../")
    assert not outside.exists()


def test_channel_named_dot_dot_stays_in_its_folder(sandbox: Path, tmp_path: Path) -> None:
    """``..`` is a valid ChannelName (``[A-Za-z0-9.\\-_]+``); its data must not land beside input/data and so
    overwrite the job's own config files."""
    backend = LocalBackend(home=sandbox)
    backend.default_bucket()
    files = {"train.csv": csv_rows(), "config/hyperparameters.json": '{"num_round": "1", "planted": "yes"}'}
    uri = backend.upload_input(write_files(tmp_path / "data", files), f"s3://{BUCKET}/dots")
    backend.create_training_job(request("dot-channel", [channel("train", uri), channel("..", uri)]))
    desc = wait_terminal(backend.describe_training_job, "dot-channel")
    written = json.loads(
        (sandbox / "jobs" / "dot-channel" / "input" / "config" / "hyperparameters.json").read_text()
    )
    assert written == desc["HyperParameters"]
    assert desc["TrainingJobStatus"] == "Failed"
    assert desc["FailureReason"] == (
        "ClientError: Channel name '..' cannot be used as a folder name in /opt/ml/input/data."
    )


# --- tarballs ---------------------------------------------------------------------------------------------


def _tar_with(tmp_path: Path, *members: tarfile.TarInfo, data: bytes = MARKER) -> Path:
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for info in members:
            if info.isreg():
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


@pytest.mark.parametrize(
    "member",
    [
        _member("../evil"),
        _member("a/../../evil"),
        _member("/tmp/sagelocal-evil-absolute"),
        _member("link", tarfile.SYMTYPE, "/etc/passwd"),
        _member("hard", tarfile.LNKTYPE, "../../evil"),
        _member("fifo", tarfile.FIFOTYPE),
        _member("dev", tarfile.CHRTYPE),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "symlink", "hardlink", "fifo", "device"],
)
def test_extraction_refuses_members_outside_the_destination(tmp_path: Path, member: tarfile.TarInfo) -> None:
    archive = _tar_with(tmp_path, _member("ok.txt"), member)
    dest = tmp_path / "x" / "dest"
    with pytest.raises(ValueError, match=r"^Refusing to extract '"):
        artifacts.extract_tar_gz(archive, dest)
    assert files_outside(tmp_path, dest) == []
    assert not Path("/tmp/sagelocal-evil-absolute").exists()
    assert not (dest / "link").exists() and not (dest / "hard").exists()


def test_packing_skips_links_and_special_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(MARKER)
    model = tmp_path / "model"
    write_files(model, {"xgboost-model": b"model", "sub/notes.txt": b"n"})
    (model / "link-to-secret").symlink_to(secret)
    (model / "link-to-folder").symlink_to(tmp_path, target_is_directory=True)
    os.mkfifo(model / "fifo")
    archive = artifacts.make_tar_gz(model, tmp_path / "out" / "model.tar.gz")
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
    assert sorted(m.name for m in members) == ["sub", "sub/notes.txt", "xgboost-model"]
    assert all(m.isreg() or m.isdir() for m in members)
    assert all(m.uid == 0 and m.gid == 0 and m.uname == "root" for m in members)
    round_trip = artifacts.extract_tar_gz(archive, tmp_path / "back")
    assert sorted(p.relative_to(tmp_path / "back").as_posix() for p in round_trip) == [
        "sub/notes.txt",
        "xgboost-model",
    ]


# --- the server's address ---------------------------------------------------------------------------------


def _listening(port: int) -> list[str]:
    """Local addresses listening on ``port`` (IPv4 and IPv6), from /proc/net."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == "0A":  # LISTEN
                found.append(address)
    return found


def test_the_server_binds_to_loopback_by_default(tmp_path: Path) -> None:
    env = clean_environ()
    env.update(cli_env(tmp_path / "home"))
    env["PYTHONUNBUFFERED"] = "1"
    script = Path(sys.executable).with_name("sagelocal")
    process = subprocess.Popen(
        [str(script), "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            if line.startswith("export AWS_ENDPOINT_URL_SAGEMAKER="):
                url = line.split("=", 1)[1].strip()
        assert url is not None and url.startswith("http://127.0.0.1:"), url
        port = int(url.rsplit(":", 1)[1])
        assert _listening(port) == ["0100007F"]  # 127.0.0.1, nothing on 0.0.0.0 or ::
    finally:
        process.terminate()
        process.wait(timeout=15)

    refused = subprocess.run(
        [str(script), "serve", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr == (
        "sagelocal serve: refusing to listen on 0.0.0.0: not a loopback address, and sagelocal speaks plain HTTP "
        "(requests are signed, not encrypted). Pass --allow-remote to serve other machines anyway.\n"
    )


# --- pickles ----------------------------------------------------------------------------------------------

_UNPICKLERS = {
    ("pickle", "load"), ("pickle", "loads"), ("pickle", "Unpickler"), ("_pickle", "load"), ("_pickle", "loads"),
    ("cPickle", "load"), ("joblib", "load"), ("dill", "load"), ("dill", "loads"), ("cloudpickle", "load"),
    ("cloudpickle", "loads"), ("numpy", "load"), ("np", "load"), ("pandas", "read_pickle"), ("pd", "read_pickle"),
    ("torch", "load"), ("shelve", "open"), ("marshal", "loads"), ("marshal", "load"),
}  # fmt: skip


#: The one exception: the algorithm's ``serve`` loads the old images' pickled model from its own model directory,
#: as the real image does (aws/sagemaker-xgboost-container ``algorithm_mode/serve_utils.py``), in the serving
#: process only.
_ALLOWED_UNPICKLING = {"sagelocal/algorithms/xgboost/serving/loading.py pickle.load"}


def test_sagelocal_never_unpickles() -> None:
    """Old images' models are pickles (sagelocal writes them for fidelity). Only the algorithm's serving process
    loads one (from its model directory, as the real image does); no other sagelocal code path loads a pickle,
    so an artifact from elsewhere (a checkpoint, a planted file) can never run code in sagelocal itself."""
    offenders = []
    for path in sorted((REPO_ROOT / "sagelocal").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        imported_names: dict[str, tuple[str, str]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    if (node.module.split(".")[0], alias.name) in _UNPICKLERS:
                        imported_names[alias.asname or alias.name] = (node.module, alias.name)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                if (func.value.id, func.attr) in _UNPICKLERS:
                    if (
                        func.attr == "load"
                        and func.value.id in ("numpy", "np")
                        and any(
                            k.arg == "allow_pickle" and getattr(k.value, "value", None) is False
                            for k in node.keywords
                        )
                    ):
                        continue
                    if f"{path.relative_to(REPO_ROOT)} {func.value.id}.{func.attr}" in _ALLOWED_UNPICKLING:
                        continue
                    offenders.append(
                        f"{path.relative_to(REPO_ROOT)}:{node.lineno} {func.value.id}.{func.attr}"
                    )
            elif isinstance(func, ast.Name) and func.id in imported_names:
                offenders.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} {func.id}")
    assert offenders == []


def test_pickled_models_are_written_only_by_sagelocal_jobs(tmp_path: Path) -> None:
    """The pickle-format images (0.72 … 1.2-2) write their model inside the job's own folder; the
    published model.tar.gz is built from that folder (regular files only) and nothing reads it back."""
    home = tmp_path / "home"
    data = write_files(tmp_path / "data", {"train.csv": csv_rows()})
    result = run_cli(
        home, "train", "--job-name", "pickle-job", "--train", str(data), "--content-type", "csv",
        "--xgboost-version", "1.2-2", "-H", "num_round=2", "-H", "objective=binary:logistic",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    archive = home / "s3" / BUCKET / "pickle-job" / "output" / "model.tar.gz"
    with tarfile.open(archive) as tar:
        (member,) = tar.getmembers()
        payload = tar.extractfile(member).read()  # type: ignore[union-attr]
    assert member.name == "xgboost-model"
    assert payload[:2] == b"\x80\x04"  # pickle protocol 4, as the 1.2-x images write it
    assert (home / "jobs" / "pickle-job" / "model" / "xgboost-model").read_bytes() == payload
