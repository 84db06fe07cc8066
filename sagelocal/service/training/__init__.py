"""The training-job resource kind: its records and state machine (``store``), its Describe and List documents
(``documents``), its metrics (``metrics``), the container layout the platform writes for it (``layout``) and the
artifacts it leaves (``artifacts``). Running a job is ``service/execution``'s business."""
