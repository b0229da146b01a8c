"""Typed boundary and domain models."""
