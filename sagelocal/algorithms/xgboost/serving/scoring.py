"""The three routes of the image's Flask app as plain functions: status, body and Content-Type per request.

Source: aws/sagemaker-xgboost-container ``src/sagemaker_xgboost_container/algorithm_mode/serve.py``
(``ScoringService``, ``ping``, ``execution_parameters``, ``invocations``), per version through ``rules``.
The order of checks in ``invocations`` is the image's: empty body 204, parsing 415, loading the model 500,
predicting 400, the Accept header 406 (only after a prediction), selectable output 500, then 200.
Bodies the app returns as ``flask.Response(text)`` go out as ``text/html; charset=utf-8``; uncaught exceptions
become Werkzeug's 500 page (:data:`INTERNAL_SERVER_ERROR_PAGE`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from sagelocal.algorithms.xgboost.logs import Log
from sagelocal.algorithms.xgboost.serving import encoding, loading, payload
from sagelocal.algorithms.xgboost.serving.rules import ServingRules
from sagelocal.contract import CONTAINER_ROOT, ServingEnv

HTML = "text/html; charset=utf-8"


def werkzeug_page(code: int, name: str, description: str) -> bytes:
    """Werkzeug 0.15.6 ``HTTPException.get_body`` (the version the images pin)."""
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n'
        f"<title>{code} {name}</title>\n<h1>{name}</h1>\n<p>{description}</p>\n"
    ).encode()


INTERNAL_SERVER_ERROR_PAGE = werkzeug_page(
    500,
    "Internal Server Error",
    "The server encountered an internal error and was unable to complete your request. Either the server is "
    "overloaded or there is an error in the application.",
)
#: Werkzeug pages carry ``Content-Type: text/html`` without a charset.
PAGE = "text/html"


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = HTML


def _mime(mimetype: str) -> str:
    """Werkzeug adds ``; charset=utf-8`` to ``text/*`` mimetypes (and a few XML/JS ones the app never uses)."""
    return f"{mimetype}; charset=utf-8" if mimetype.startswith("text/") else mimetype


class ScoringService:
    """One model, loaded once and kept (the image's class attributes), for one serving process."""

    def __init__(self, env: ServingEnv, rules: ServingRules, log: Log) -> None:
        self.env = env
        self.rules = rules
        self.log = log
        self.model: loading.LoadedModel | None = None
        cap = rules.content_length_cap
        self.max_content_length = min(env.max_content_length, cap) if cap else env.max_content_length

    def load_model(self) -> loading.LoadedModel:
        if self.model is None:
            self.model = loading.load_model(self.env, self.rules, self.log)
        return self.model

    def log_exception(self, e: BaseException) -> None:
        """``logging.exception(e)`` in the image: the message at ERROR (the traceback is left out)."""
        self.log.error(self.env_paths(str(e)))

    def env_paths(self, text: str) -> str:
        """Host paths under the ml root as the container names them."""
        root = str(self.env.ml_root).rstrip("/")
        if root and root != CONTAINER_ROOT:
            text = text.replace(root + "/", CONTAINER_ROOT + "/")
        return text

    def ping(self) -> Reply:
        if self.rules.ping_loads_model:
            try:
                self.load_model()
            except Exception as e:
                self.log_exception(e)
                return Reply(500, INTERNAL_SERVER_ERROR_PAGE, PAGE)
        return Reply(200)

    def execution_parameters(self) -> Reply:
        parameters = {
            "MaxConcurrentTransforms": os.cpu_count() or 1,
            "BatchStrategy": "MULTI_RECORD",
            "MaxPayloadInMB": int(self.max_content_length / (1024**2)),
        }
        return Reply(200, json.dumps(parameters).encode(), "application/json")

    def invocations(self, body: bytes, content_type: str | None, accept: str | None) -> Reply:
        if len(body) == 0:
            return Reply(204)
        try:
            parsed = payload.parse(body, content_type, self.rules, self.log)
        except payload.PayloadError as e:
            self.log_exception(e)
            return Reply(415, self.env_paths(e.message).encode())
        try:
            model = self.load_model()
        except Exception as e:
            self.log_exception(e)
            return Reply(500, self.env_paths(f"Unable to load model: {e}").encode())
        try:
            preds = loading.predict(model, parsed, self.log)
        except Exception as e:
            self.log_exception(e)
            return Reply(400, f"Unable to evaluate payload provided: {e}".encode())

        selectable = self.rules.selectable_output and self.env.inference_output is not None
        chosen = ""  # 0.72 … 1.2-1 without selectable output never read the Accept header
        if self.rules.accept_driven or selectable:
            try:
                chosen = encoding.parse_accept(accept, self.env.default_accept)
            except encoding.NotAcceptable as e:
                self.log_exception(e)
                return Reply(406, e.message.encode())
        if selectable:
            assert self.env.inference_output is not None
            try:
                keys = encoding.selected_keys(self.env.inference_output)
                encoded = encoding.encode_selected(
                    preds,
                    chosen,
                    keys,
                    model.objective,
                    model.num_class,
                    self.rules,
                    self.env.batch,
                    self.log,
                )
            except Exception as e:
                self.log_exception(e)
                return Reply(500, str(e).encode())
            return Reply(200, encoded.body, _mime(encoded.mimetype))
        try:
            encoded = encoding.encode_scores(preds, chosen, self.rules, self.env.batch)
        except encoding.UnsupportedFormat as e:
            self.log.error(f"Exception on /invocations [POST]: UnsupportedFormatError: {e}")
            return Reply(500, INTERNAL_SERVER_ERROR_PAGE, PAGE)
        return Reply(200, encoded.body, _mime(encoded.mimetype))
