"""The ``sagelocal`` command line: ``train``, ``demo``, ``jobs``, ``s3``, ``serve`` and ``image``.

Modules here import only typer and rich at top level so that ``sagelocal --help`` starts fast; the emulator,
xgboost, pandas, boto3 and scikit-learn are imported inside the commands that need them.
"""
