"""Built-in algorithms, each behind the SageMaker container contract (``sagelocal.contract``): config and data
in, model and failure file out."""
