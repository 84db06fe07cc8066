"""Running endpoints: each deployment's detached supervisor and the instances it starts (processes or containers)."""
