"""Built-in algorithms, each behind the SageMaker container contract (/opt/ml in, model and failure file out)."""
