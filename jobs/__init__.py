"""Batch jobs run by EMR steps (Spark) and locally."""
