"""sagelocal: Amazon SageMaker built-in XGBoost training jobs, offline."""

__version__ = "0.1.0"
