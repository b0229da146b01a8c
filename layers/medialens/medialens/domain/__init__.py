"""Use cases: plain functions that take their ports as arguments."""
