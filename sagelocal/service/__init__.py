"""The local stand-in for the SageMaker service: validation, job records, object store, logs, algorithms."""
