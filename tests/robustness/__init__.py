"""Hostile input and failure: resource bounds, locking, failed saves, crash safety, errors."""
