"""The AWS vocabulary every layer shares: service errors, request validation against botocore's model, and
resource references (S3 URIs, image URIs). Imports nothing else of sagelocal."""
