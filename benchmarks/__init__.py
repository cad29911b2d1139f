"""Throughput of growth-sim against the raw-COPY limit and the baselines; memory and scaling."""
