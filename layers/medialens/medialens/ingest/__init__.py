"""Ingestion: the paced queue between bucket events (or backfills) and the image analysis."""
