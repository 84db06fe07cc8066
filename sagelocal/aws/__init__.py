"""AWS vocabulary shared by every layer of sagelocal: service errors (and, next, validation and references)."""
