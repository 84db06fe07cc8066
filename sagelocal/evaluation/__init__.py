"""Evaluating a binary or multi-class model on a labelled test set, as step 6 of the SageMaker XGBoost
tutorial does: the test CSV read and cut into InvokeEndpoint-sized bodies (``testset``), the answers decoded
and scored into the tutorial's ``Overall Classification Rate`` table plus scikit-learn metrics (``report``),
the training job's per-round metrics read back from its log (``curves``), and the pictures (``plots``).

It imports nothing else of sagelocal, so the CLI and the server (a console page) can both use it; the
scoring itself is the caller's (an endpoint, or a model artifact through a backend).
"""
