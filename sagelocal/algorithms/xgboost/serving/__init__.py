"""The built-in XGBoost image's ``serve``: an HTTP server with ``GET /ping`` and ``POST /invocations``.

``python -m sagelocal.algorithms.xgboost serve [--ml-root DIR] [--image-version V] [--port P]`` loads
``DIR/model`` as the real image of version V does and answers as it does (``rules`` holds the per-version facts,
``payload`` the request parsing, ``encoding`` the response bodies, ``loading`` the model files, ``scoring`` the
order of checks, ``app`` the HTTP surface). Importing this package stays light: XGBoost is imported when the
server starts.
"""
