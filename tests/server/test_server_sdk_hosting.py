"""The tutorial's step 5 through the unmodified SageMaker Python SDK v2 against ``sagelocal serve``: train on the
bank data, ``xgb.deploy(initial_instance_count=1, instance_type='ml.m4.xlarge')``, predict the test set in
batches with ``CSVSerializer``, print the confusion matrix in the tutorial's format, then
``sagemaker.Session().delete_endpoint(...)``, after which DescribeEndpoint says the endpoint is not found
(reference inference §7, §10).

The notebook runs in a fresh interpreter configured only by what ``sagelocal serve`` prints, under the audit hook
that refuses any non-loopback connection. ``deploy()`` polls every 30 s (the SDK's ``DEFAULT_EP_POLL``), so this
module holds one such run.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.offline_guard import OFFLINE_GUARD
from support.server_fixture import Server
from support.serving import booster_of

pytestmark = pytest.mark.slow

BUCKET = "sdk-hosting"
ARN = "arn:aws:sagemaker:us-east-1:123456789012"

#: The tutorial's steps 4, 5a, 5b and 7 as SDK v2 code; the batch ``predict`` is the direct-marketing notebook's
#: (rows of 500, answers comma-joined, ``np.fromstring(predictions[1:], sep=',')``) and the print lines are T1's.
NOTEBOOK = textwrap.dedent(
    """
    import logging
    import boto3
    import numpy as np
    import pandas as pd
    import sagemaker
    from botocore.exceptions import ClientError
    from sagemaker.inputs import TrainingInput
    from sagemaker.serializers import CSVSerializer

    sess = sagemaker.Session()
    bucket = "{bucket}"
    xgb = sagemaker.estimator.Estimator(
        image_uri="811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest",
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        instance_count=1,
        instance_type="ml.m4.xlarge",
        output_path=f"s3://{{bucket}}/out",
        sagemaker_session=sess,
    )
    xgb.set_hyperparameters(
        max_depth=5, eta=0.2, gamma=4, min_child_weight=6, subsample=0.8, silent=0,
        objective="binary:logistic", num_round=100,
    )
    xgb.fit({{"train": TrainingInput(f"s3://{{bucket}}/train", content_type="csv")}}, logs=False)
    print("\\nMODEL DATA:", xgb.model_data)

    xgb_predictor = xgb.deploy(initial_instance_count=1, instance_type="ml.m4.xlarge")
    print("\\nENDPOINT:", xgb_predictor.endpoint_name)

    test_data = pd.read_csv("{test_csv}", header=None).rename(columns={{0: "y_yes"}})
    test_data_array = test_data.drop(["y_yes"], axis=1).values
    xgb_predictor.serializer = CSVSerializer()

    def predict(data, rows=500):
        split_array = np.array_split(data, int(data.shape[0] / float(rows) + 1))
        predictions = ""
        for array in split_array:
            predictions = ",".join([predictions, xgb_predictor.predict(array).decode("utf-8")])
        return np.fromstring(predictions[1:], sep=",")

    predictions_array = predict(test_data_array)
    print(predictions_array.shape)
    np.save("{predictions}", predictions_array)

    cm = pd.crosstab(
        index=test_data["y_yes"], columns=np.round(predictions_array), rownames=["Observed"], colnames=["Predicted"]
    )
    tn = cm.iloc[0, 0]; fn = cm.iloc[1, 0]; tp = cm.iloc[1, 1]; fp = cm.iloc[0, 1]
    p = (tp + tn) / (tp + tn + fp + fn) * 100
    print("\\n{{0:<20}}{{1:<4.1f}}%\\n".format("Overall Classification Rate: ", p))
    print("{{0:<15}}{{1:<15}}{{2:>8}}".format("Predicted", "No Purchase", "Purchase"))
    print("Observed")
    print("{{0:<15}}{{1:<2.0f}}% ({{2:<}}){{3:>6.0f}}% ({{4:<}})".format(
        "No Purchase", tn / (tn + fn) * 100, tn, fp / (tp + fp) * 100, fp))
    print("{{0:<16}}{{1:<1.0f}}% ({{2:<}}){{3:>7.0f}}% ({{4:<}}) \\n".format(
        "Purchase", fn / (tn + fn) * 100, fn, tp / (tp + fp) * 100, tp))

    sagemaker.Session().delete_endpoint(xgb_predictor.endpoint_name)
    import time
    sm = boto3.client("sagemaker")
    for _ in range(600):  # Deleting, then gone
        try:
            sm.describe_endpoint(EndpointName=xgb_predictor.endpoint_name)
        except ClientError as error:
            print("DESCRIBE AFTER DELETE:", error.response["Error"]["Code"], error.response["Error"]["Message"])
            break
        time.sleep(0.2)
    """
)


#: The tutorial's print formats (reference inference §10), as written there.
HEADLINE, HEADER, NO_ROW, YES_ROW = (
    "\n{0:<20}{1:<4.1f}%\n",
    "{0:<15}{1:<15}{2:>8}",
    "{0:<15}{1:<2.0f}% ({2:<}){3:>6.0f}% ({4:<})",
    "{0:<16}{1:<1.0f}% ({2:<}){3:>7.0f}% ({4:<}) \n",
)


def confusion_lines(labels: np.ndarray, predictions: np.ndarray) -> list[str]:
    """The tutorial's printout for these predictions, computed here."""
    cm = pd.crosstab(
        index=labels, columns=np.round(predictions), rownames=["Observed"], colnames=["Predicted"]
    )
    tn, fn, tp, fp = cm.iloc[0, 0], cm.iloc[1, 0], cm.iloc[1, 1], cm.iloc[0, 1]
    p = (tp + tn) / (tp + tn + fp + fn) * 100
    text = "\n".join(
        [
            HEADLINE.format("Overall Classification Rate: ", p),
            HEADER.format("Predicted", "No Purchase", "Purchase"),
            "Observed",
            NO_ROW.format("No Purchase", tn / (tn + fn) * 100, tn, fp / (tp + fp) * 100, fp),
            YES_ROW.format("Purchase", fn / (tn + fn) * 100, fn, tp / (tp + fp) * 100, tp),
        ]
    )
    return text.split("\n")


@pytest.mark.timeout(1500)
def test_the_tutorials_step_5_through_the_unmodified_sdk(
    sagelocal_server: Server, bank_data: tuple[Path, Path], tmp_path: Path
) -> None:
    train_csv, test_csv = bank_data
    s3 = sagelocal_server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(train_csv), BUCKET, "train/train.csv")
    predictions_file = tmp_path / "predictions.npy"
    script = OFFLINE_GUARD + NOTEBOOK.format(bucket=BUCKET, test_csv=test_csv, predictions=predictions_file)
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=sagelocal_server.subprocess_env(),
        capture_output=True,
        text=True,
        timeout=1400,
        cwd=str(tmp_path),
    )
    out, err = result.stdout, result.stderr
    assert result.returncode == 0, (
        f"stdout:\n{out}\nstderr:\n{err[-5000:]}\nserver:\n{sagelocal_server.log_text()[-5000:]}"
    )
    print(out)

    endpoint = re.search(r"^ENDPOINT: (xgboost-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-\d{3})$", out, re.M)
    assert endpoint, out
    name = endpoint.group(1)
    # deploy(): the SDK's three log lines, then one character per 30 s poll, '!' once InService
    for line in (
        f"INFO:sagemaker:Creating model with name: {name}",
        f"INFO:sagemaker:Creating endpoint-config with name {name}",
        f"INFO:sagemaker:Creating endpoint with name {name}",
        f"INFO:sagemaker:Deleting endpoint with name: {name}",
    ):
        assert line in err.splitlines(), err[-5000:]
    assert re.search(r"^-*!\nENDPOINT: ", out, re.M), out

    # the predictions are the trained booster's own, within 1e-6
    predictions = np.load(predictions_file)
    test = pd.read_csv(test_csv, header=None)
    assert predictions.shape == (12357,)
    model_data = re.search(r"^MODEL DATA: s3://([^/]+)/(\S+)$", out, re.M)
    assert model_data, out
    tarball = tmp_path / "model.tar.gz"
    s3.download_file(model_data.group(1), model_data.group(2), str(tarball))
    with tarfile.open(tarball) as archive:
        archive.extractall(tmp_path / "model", filter="data")
    import xgboost as xgb

    features = test.drop(columns=[0]).to_numpy(dtype=np.float32)
    own = booster_of(tmp_path / "model").predict(xgb.DMatrix(features), validate_features=False)
    assert np.allclose(predictions, own, rtol=0, atol=1e-6)

    # the confusion matrix, in the tutorial's exact format, from those predictions
    lines = out.split("\n")
    expected = confusion_lines(test[0].to_numpy(), own)
    start = lines.index(expected[1])
    assert lines[start - 1 : start - 1 + len(expected)] == expected
    assert re.fullmatch(r"Overall Classification Rate: \d\d\.\d%", expected[1])
    assert re.fullmatch(r"No Purchase    \d\d% \(\d+\)\s+\d+% \(\d+\)", expected[5])
    assert re.fullmatch(r"Purchase        \d+% \(\d+\)\s+\d\d% \(\d+\) ", expected[6])

    # delete_endpoint(), then DescribeEndpoint: the service's not-found ValidationException
    assert (
        f'DESCRIBE AFTER DELETE: ValidationException Could not find endpoint "{ARN}:endpoint/{name}".' in out
    ), out
    assert "NON-LOOPBACK ATTEMPTS: []" in out
