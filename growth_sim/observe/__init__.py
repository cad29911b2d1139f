"""Read-only views of a grown database: measurements, report, findings, reads, history, plot."""
