"""The engine: exactly-once units of work, the initial load, hours, checks, controller, pipeline, steady."""
