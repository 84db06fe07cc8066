"""How the emulator runs an algorithm over a job's /opt/ml layout: in a child process or in a container."""
