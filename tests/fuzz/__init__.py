"""Fuzz harness: mutators over hive and log bytes, a checked run of every reader, campaigns."""
