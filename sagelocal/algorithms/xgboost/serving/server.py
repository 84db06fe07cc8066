"""``serve``: start the model server on ``SAGEMAKER_BIND_TO_PORT`` (default 8080) and run until SIGTERM/SIGINT.

As ``sagemaker_xgboost_container.serving.serving_entrypoint`` does, ``OMP_NUM_THREADS`` defaults to 1 (set
before XGBoost is imported). The real image puts nginx in front of gunicorn/Flask workers, each loading the
model on its first request; sagelocal runs one uvicorn process (h11) that loads the model at start-up so the
first request is as fast as the rest; a model that fails to load is retried on each request, as the image
does, and answered with the same errors.
"""

from __future__ import annotations

import os

from sagelocal.algorithms.xgboost.logs import Log
from sagelocal.algorithms.xgboost.serving.app import ServingApp
from sagelocal.algorithms.xgboost.serving.rules import serving_rules
from sagelocal.algorithms.xgboost.serving.scoring import ScoringService
from sagelocal.algorithms.xgboost.versions import ImageVersion
from sagelocal.contract import read_serving_env


def serve(ml_root: str, version: ImageVersion, port: int | None = None, host: str = "0.0.0.0") -> int:
    """Serve until stopped; returns the exit code."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import uvicorn

    log = Log()
    env = read_serving_env(ml_root, port=port)
    service = ScoringService(env, serving_rules(version), log)
    try:
        service.load_model()
    except Exception as e:  # answered again, with the image's messages, by /ping and /invocations
        service.log_exception(e)
    log.info(f"Serving XGBoost image {version.name} on port {env.port}")
    config = uvicorn.Config(
        ServingApp(service),
        host=host,
        port=env.port,
        http="h11",
        loop="asyncio",
        lifespan="off",
        access_log=False,  # ServingApp writes nginx's access-log line itself
        server_header=False,
        log_level="warning",
        timeout_keep_alive=60,  # the image's gunicorn keepalive
    )
    uvicorn.Server(config).run()
    return 0
