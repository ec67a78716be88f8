"""The version of winmigrate (one place; the package, the CLI and generated scripts read it)."""

__version__ = "0.3.0"
