"""Running batch transform jobs: each job's detached supervisor and its serve instances."""
