"""The supervisor's FailureReason for an algorithm that failed."""

from __future__ import annotations

from sagelocal.service.execution.supervisor import failure_reason


def test_failure_reason_wording() -> None:
    text = (
        "framework error: \nTraceback (most recent call last):\n  ...\n"
        "Extraneous hyperparameter found: silent\n"
    )
    assert failure_reason(text, 1) == (
        "AlgorithmError: framework error: \nTraceback (most recent call last):\n  ...\n"
        "Extraneous hyperparameter found: silent, exit code: 1"
    )
    assert failure_reason("ClientError: bad data", 1) == "ClientError: bad data, exit code: 1"
    assert failure_reason(None, 137) == (
        "AlgorithmError: The algorithm process was killed by signal 9 (SIGKILL) and wrote no failure reason, "
        "exit code: 137"
    )
    assert failure_reason(None, 1) == "AlgorithmError: See job logs for more information, exit code: 1"
    assert len(failure_reason("x" * 5000, 1)) == 1024


def test_failure_reason_names_the_host_only_where_sagelocal_words_it() -> None:
    # A host that wrote its failure file: the file's text, as on one host.
    assert failure_reason("ClientError: bad data", 1, "algo-2") == "ClientError: bad data, exit code: 1"
    assert failure_reason(None, 137, "algo-2") == (
        "AlgorithmError: The algorithm process on algo-2 was killed by signal 9 (SIGKILL) and wrote no failure "
        "reason, exit code: 137"
    )
    assert failure_reason(None, 1, "algo-3") == (
        "AlgorithmError: See job logs for more information (the algorithm on algo-3 exited), exit code: 1"
    )
