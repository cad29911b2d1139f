"""Connections, the ledger (all of growth-sim's own DDL) and the private cluster."""
