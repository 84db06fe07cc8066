"""``sagelocal s3 mb|cp|ls --backend sagemaker``: the same commands on real S3 (here `sagelocal serve`'s S3,
reached through the endpoint variables only), as every command takes ``--backend``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.server_fixture import Server


def run_cli(server: Server, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = server.subprocess_env(SAGELOCAL_HOME=str(home), PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    return subprocess.run(
        [sys.executable, "-m", "sagelocal.cli.app", "s3", *args, "--backend", "sagemaker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_s3_commands_reach_s3_through_the_sagemaker_backend(sagelocal_server: Server, tmp_path: Path) -> None:
    home = (
        tmp_path / "cli-home"
    )  # the CLI's own state folder stays empty: the objects live in the server's S3
    local = tmp_path / "train.csv"
    local.write_bytes(b"1,2,3\n0,4,5\n")

    made = run_cli(sagelocal_server, home, "mb", "s3://cli-backend-bucket")
    assert (made.returncode, made.stdout, made.stderr) == (0, "make_bucket: cli-backend-bucket\n", "")

    copied = run_cli(sagelocal_server, home, "cp", str(local), "s3://cli-backend-bucket/data/train.csv")
    assert copied.returncode == 0, copied.stderr
    assert copied.stdout == f"upload: {local} to s3://cli-backend-bucket/data/train.csv\n"

    listed = run_cli(sagelocal_server, home, "ls", "s3://cli-backend-bucket/data/")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.endswith(" 12 train.csv\n")

    s3 = sagelocal_server.client("s3")
    assert (
        s3.get_object(Bucket="cli-backend-bucket", Key="data/train.csv")["Body"].read() == b"1,2,3\n0,4,5\n"
    )
    assert not (home / "s3" / "cli-backend-bucket").exists()

    back = tmp_path / "back.csv"
    fetched = run_cli(sagelocal_server, home, "cp", "s3://cli-backend-bucket/data/train.csv", str(back))
    assert fetched.returncode == 0, fetched.stderr
    assert back.read_bytes() == b"1,2,3\n0,4,5\n"

    missing = run_cli(sagelocal_server, home, "ls", "s3://no-such-bucket-here/")
    assert missing.returncode != 0
    print(repr(missing.stderr), missing.returncode)
    assert "NoSuchBucket" in missing.stderr
