"""Batch transform jobs: their records (``store``), documents (``documents``), the service's operations
(``service``) and what happens to each record (``records``: splitting, mini-batches, DataProcessing)."""
