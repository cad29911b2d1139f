"""growth-sim: grow a real PostgreSQL database along a simulated calendar."""

__version__ = "0.1.0"
