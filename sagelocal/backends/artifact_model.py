"""A ``model.tar.gz`` answering ``POST /invocations`` in this process, as the built-in image of its version
serves it: what ``Backend.invoke_model_artifact`` runs on every backend (``sagelocal evaluate --job/--model``).

The archive is extracted into a temporary ``/opt/ml/model`` and served by the algorithm's own serving code
(``sagelocal.algorithms.xgboost.serving.scoring``: the image's parsing, model loading with that version's rules,
prediction and response encoding), with the default serving environment of a container that CreateModel
started without an Environment. There is no HTTP hop and no body-size limit here: the caller chooses its
bodies. Real SageMaker has no API that scores a model artifact without an endpoint or a transform job.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from sagelocal.algorithms.xgboost.logs import Log
from sagelocal.algorithms.xgboost.serving.rules import serving_rules
from sagelocal.algorithms.xgboost.serving.scoring import ScoringService
from sagelocal.algorithms.xgboost.versions import UnknownImage, version_from_image_uri
from sagelocal.backends.base import BackendError
from sagelocal.contract import read_serving_env
from sagelocal.service.training.artifacts import extract_tar_gz


class _Discard(io.StringIO):
    """The container's log lines (``Determined delimiter of CSV input is ','`` per request) go nowhere."""

    def write(self, text: str) -> int:
        return len(text)


def invoke_archive(
    archive: Path,
    image_uri: str,
    bodies: Iterable[bytes],
    content_type: str | None = "text/csv",
    accept: str | None = "text/csv",
    where: str | None = None,
) -> Iterator[bytes]:
    """Serve ``archive`` as ``image_uri``'s container would and yield its answer to each body. A 4xx/5xx
    answer raises BackendError with the image's status and message on one line (``where`` names the archive
    in messages; default its path)."""
    name = where or str(archive)
    try:
        version = version_from_image_uri(image_uri)
    except UnknownImage as e:
        raise BackendError(str(e)) from None
    with tempfile.TemporaryDirectory(prefix="sagelocal-evaluate-") as scratch:
        ml_root = Path(scratch)
        try:
            extract_tar_gz(archive, ml_root / "model")
        except FileNotFoundError:
            raise BackendError(f"No model artifact at {name}.") from None
        except (tarfile.TarError, ValueError, EOFError, OSError):
            raise BackendError(f"The model artifact {name} is not a valid tar.gz archive.") from None
        env = read_serving_env(ml_root, environ={})
        service = ScoringService(env, serving_rules(version), Log(_Discard()))
        for body in bodies:
            reply = service.invocations(body, content_type, accept)
            if reply.status != 200:
                message = reply.body.decode("utf-8", errors="replace").strip().replace("\n", "\\n")
                raise BackendError(
                    f"The model in {name} answered {reply.status} (image {version.name}): {message}"
                )
            yield reply.body
