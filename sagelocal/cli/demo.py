"""``sagelocal demo``: the classic SageMaker XGBoost tutorial's training step, offline.

The data is scikit-learn's bundled breast-cancer set (569 rows, 30 features, binary label), shuffled and split
70/20/10 as the tutorial splits the bank data, and written as headerless CSVs with the label first. The
files go where the tutorial puts them (``s3://<default bucket>/sagemaker/DEMO-xgboost-dm/train`` …),
and the job is the tutorial's ``Estimator``: ``xgboost:latest`` (the 0.72 image), ``ml.m4.xlarge``, its
hyperparameters (``silent=0`` included) and ``content_type="csv"``.
"""

from pathlib import Path
from typing import Annotated

import typer

from sagelocal.backends import ROLE_ENV, get_backend
from sagelocal.cli.errors import handle_errors, operation
from sagelocal.cli.train import (
    DEFAULT_INSTANCE_TYPE,
    BackendOption,
    DownloadOption,
    base_name_from_image,
    build_training_request,
    name_from_base,
    resolve_role,
    run_job,
)

PREFIX = "sagemaker/DEMO-xgboost-dm"
#: The image the tutorial's ``containers`` dict names in every region: ``<registry>/xgboost:latest``.
TUTORIAL_VERSION = "latest"
#: ``xgb.set_hyperparameters(...)`` in the tutorial, in its order.
TUTORIAL_HYPERPARAMETERS = {
    "max_depth": 5,
    "eta": 0.2,
    "gamma": 4,
    "min_child_weight": 6,
    "subsample": 0.8,
    "silent": 0,
    "objective": "binary:logistic",
    "num_round": 100,
}
SEED = 1729  # the tutorial's data.sample(frac=1, random_state=1729)


def write_dataset(folder: Path) -> dict[str, Path]:
    """Write train.csv, validation.csv and test.csv (label first, no header) into ``folder``."""
    import numpy as np
    import pandas as pd
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = pd.concat([bunch.target.rename("y"), bunch.data], axis=1)
    shuffled = frame.sample(frac=1, random_state=SEED)
    n = len(shuffled)
    cuts = [int(0.7 * n), int(0.9 * n)]
    train, validation, test = (shuffled.iloc[a:b] for a, b in zip([0, *cuts], [*cuts, n], strict=True))
    paths = {}
    for name, part in (("train", train), ("validation", validation), ("test", test)):
        path = folder / f"{name}.csv"
        part.to_csv(path, index=False, header=False, float_format="%.10g")
        paths[name] = path
    assert np.isfinite(frame.to_numpy()).all()
    return paths


@handle_errors
def demo(
    backend: BackendOption = "local",
    role: Annotated[
        str | None,
        typer.Option("--role", envvar=ROLE_ENV, help="RoleArn (needed for real SageMaker)."),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Follow the job until it ends, as fit().")
    ] = True,
    download_model: Annotated[bool, DownloadOption] = True,
) -> None:
    """Run the SageMaker XGBoost tutorial's training step on scikit-learn's breast-cancer data.

    Prints the seven phase lines, the algorithm's log and Training/Billable seconds as the notebook does, then
    where model.tar.gz landed. Exit codes as for train.
    """
    import tempfile

    be = get_backend(backend)
    role_arn = resolve_role(be, role)
    image = be.image_uri(TUTORIAL_VERSION)
    bucket = be.default_bucket()
    with tempfile.TemporaryDirectory(prefix="sagelocal-demo-") as tmp:
        paths = write_dataset(Path(tmp))
        channels = {}
        for channel in ("train", "validation"):
            with operation("PutObject"):
                be.upload_input(paths[channel], f"s3://{bucket}/{PREFIX}/{channel}")
            # the tutorial's TrainingInput(s3_data="s3://{bucket}/{prefix}/train"): the prefix, not the file
            channels[channel] = f"s3://{bucket}/{PREFIX}/{channel}"
    typer.echo(
        f"Uploaded breast-cancer data (scikit-learn) to s3://{bucket}/{PREFIX}/train and "
        f"s3://{bucket}/{PREFIX}/validation",
        err=True,
    )
    request = build_training_request(
        job_name=name_from_base(base_name_from_image(image)),
        image_uri=image,
        role_arn=role_arn,
        output_path=f"s3://{bucket}/{PREFIX}/output",
        channels=channels,
        hyperparameters=TUTORIAL_HYPERPARAMETERS,
        content_type="csv",
        instance_type=DEFAULT_INSTANCE_TYPE,
        instance_count=1,
    )
    code = run_job(be, request, wait=wait, as_json=False, download=download_model)
    if code:
        raise typer.Exit(code)
