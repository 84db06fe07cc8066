"""``sagelocal s3 mb|cp|ls``: a backend's object store (``$SAGELOCAL_HOME/s3`` for local and docker, S3 for
sagemaker), aws-cli-like output."""

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from sagelocal.backends import Backend, get_backend
from sagelocal.cli.errors import EXIT_FAILED, EXIT_USAGE, CliFailure, err, handle_errors, operation
from sagelocal.cli.train import BackendOption

s3_app = typer.Typer(
    name="s3",
    help="Make buckets, copy and list objects in the local object store (like `aws s3`).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


def store(backend: str) -> Backend:
    """The backend whose object store the commands work on (local and docker share one; sagemaker is S3)."""
    return get_backend(backend)


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``("bucket", "key")``; a usage error for anything else."""
    if not uri.startswith("s3://") or not uri[len("s3://") :].split("/", 1)[0]:
        raise CliFailure(f"sagelocal s3: '{uri}' is not an s3:// URI", EXIT_USAGE)
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def last_modified(value: datetime) -> str:
    """As the aws cli shows LastModified/CreationDate: local time, ``YYYY-MM-DD HH:MM:SS``."""
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


@s3_app.command("mb")
@handle_errors
def make_bucket(
    uri: Annotated[str, typer.Argument(help="s3://bucket")], backend: BackendOption = "local"
) -> None:
    """Create a bucket."""
    bucket, _ = split_uri(uri)
    with operation("CreateBucket"):
        store(backend).make_bucket(bucket)
    print(f"make_bucket: {bucket}")


@s3_app.command("ls")
@handle_errors
def list_objects(
    uri: Annotated[str | None, typer.Argument(help="s3://bucket[/prefix]; none lists the buckets.")] = None,
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="List every object under the prefix.")
    ] = False,
    backend: BackendOption = "local",
) -> None:
    """List buckets, or the objects and common prefixes under s3://bucket/prefix."""
    objects = store(backend)
    if uri is None or uri in ("s3://", "s3:"):
        with operation("ListBuckets"):
            buckets = objects.list_buckets()
        for bucket_info in buckets:
            print(f"{last_modified(bucket_info.creation_date)} {bucket_info.name}")
        return
    bucket, prefix = split_uri(uri)
    with operation("ListObjectsV2"):
        for page in objects.list_objects(bucket, prefix, None if recursive else "/"):
            for common in page.common_prefixes:
                print(f"{'PRE':>30} {common.rstrip('/').rsplit('/', 1)[-1]}/")
            for info in page.objects:
                name = info.key if recursive else info.key.rsplit("/", 1)[-1]
                print(f"{last_modified(info.last_modified)} {info.size:>10} {name}")


def _relative(path: str) -> str:
    """A local path shown as the aws cli shows it (``./x`` relative to the current folder when inside it)."""
    p = Path(path)
    try:
        rel = p.resolve().relative_to(Path.cwd())
    except ValueError:
        return str(p)
    return f"./{rel.as_posix()}" if str(rel) != "." else "./"


@s3_app.command("cp")
@handle_errors
def copy(
    source: Annotated[str, typer.Argument(help="Local path or s3://bucket/key")],
    destination: Annotated[str, typer.Argument(help="Local path or s3://bucket/key")],
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="Copy every file/object under SOURCE.")
    ] = False,
    content_type: Annotated[
        str | None, typer.Option("--content-type", help="Content-Type for uploads.")
    ] = None,
    backend: BackendOption = "local",
) -> None:
    """Copy local→s3, s3→local or s3→s3, like `aws s3 cp`."""
    objects = store(backend)
    src_s3, dst_s3 = source.startswith("s3://"), destination.startswith("s3://")
    if not src_s3 and not dst_s3:
        raise CliFailure("sagelocal s3 cp: one of SOURCE and DESTINATION must be an s3:// URI", EXIT_USAGE)
    pairs: list[tuple[str, str]] = []  # (source, destination), each a local path or an s3 URI
    if recursive:
        if src_s3:
            bucket, prefix = split_uri(source)
            if prefix and not prefix.endswith("/"):
                prefix += "/"
            with operation("ListObjectsV2"):
                keys = [info.key for page in objects.list_objects(bucket, prefix) for info in page.objects]
            for key in keys:
                rel = key[len(prefix) :]
                if not rel or rel.endswith("/"):
                    continue
                pairs.append((f"s3://{bucket}/{key}", _join(destination, rel)))
        else:
            root = Path(source)
            if not root.is_dir():
                raise CliFailure(f"sagelocal s3 cp: {source} is not a folder (drop --recursive?)", EXIT_USAGE)
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                pairs.append((str(path), _join(destination, path.relative_to(root).as_posix())))
    else:
        if src_s3:
            _, key = split_uri(source)
            name = key.rsplit("/", 1)[-1]
            if dst_s3:
                target = _join(destination, name) if destination.endswith("/") else destination
            else:
                dest = Path(destination)
                target = (
                    str(dest / name) if destination.endswith(("/", "\\")) or dest.is_dir() else destination
                )
        else:
            path = Path(source)
            if not path.is_file():
                raise CliFailure(
                    f"sagelocal s3 cp: the user-provided path {source} does not exist.", EXIT_USAGE
                )
            target = (
                _join(destination, path.name)
                if destination.endswith("/") or destination.count("/") == 2
                else destination
            )
        pairs.append((source, target))
    refused: list[str] = []
    if src_s3 and not dst_s3:
        base = Path(destination).resolve()
        inside = []
        for src, dst in pairs:
            outside = recursive and not Path(dst).resolve().is_relative_to(base)
            if outside or Path(dst).name in ("", ".", ".."):
                refused.append(src)
            else:
                inside.append((src, dst))
        pairs = inside
    for src, dst in pairs:
        _copy_one(objects, src, dst, content_type)
    if refused:
        for src in refused:
            err(
                f"sagelocal s3 cp: refusing to download {src}: its key would be written outside {destination}"
            )
        raise typer.Exit(EXIT_FAILED)


def _join(base: str, rel: str) -> str:
    if base.startswith("s3://"):
        return base + rel if base.endswith("/") else f"{base}/{rel}"
    return str(Path(base) / rel)


def _copy_one(objects: Backend, src: str, dst: str, content_type: str | None) -> None:
    if src.startswith("s3://") and dst.startswith("s3://"):
        sb, sk = split_uri(src)
        db, dk = split_uri(dst)
        with operation("CopyObject"):
            objects.copy_object(sb, sk, db, dk, content_type=content_type)
        print(f"copy: {src} to {dst}")
    elif src.startswith("s3://"):
        bucket, key = split_uri(src)
        with operation("GetObject"):
            objects.get_object(bucket, key, Path(dst))
        print(f"download: {src} to {_relative(dst)}")
    else:
        bucket, key = split_uri(dst)
        with operation("PutObject"):
            objects.put_object(bucket, key, Path(src), content_type=content_type)
        print(f"upload: {_relative(src)} to {dst}")
