"""SageMaker hosting: models, endpoint configs, endpoints (records, documents, the service) and InvokeEndpoint."""
