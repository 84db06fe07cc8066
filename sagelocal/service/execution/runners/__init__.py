"""How the emulator runs an algorithm over a job's container layout: in a child process or in a container."""
