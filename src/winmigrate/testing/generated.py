"""The hives the strategies make: a ``winmigrate.Hive`` (or its bytes) that remembers the recipe
it was built from, so that Hypothesis prints the recipe, not kilobytes of hive data."""

from __future__ import annotations

from ..hive import Hive

__all__ = ["GeneratedHive", "GeneratedHiveBytes", "generated", "generated_bytes"]


class GeneratedHive(Hive):
    """A ``winmigrate.Hive`` made by a strategy; it behaves exactly like one, and its
    ``repr`` shows the ``HiveRecipe`` (or ``SystemDescription``) it was built from,
    which is what Hypothesis prints for a failing example."""

    recipe: object = None
    #: Shown instead of the recipe when that is too long to print (a ``SystemDescription``).
    label: str | None = None

    def __repr__(self) -> str:
        return f"GeneratedHive({self.label or repr(self.recipe)})"


class GeneratedHiveBytes(bytes):
    """The bytes of a generated hive (a ``bytes`` in every way); the ``repr`` shows the recipe
    instead of kilobytes of hive data."""

    recipe: object = None
    label: str | None = None

    def __repr__(self) -> str:
        return f"GeneratedHiveBytes({self.label or repr(self.recipe)})"


def generated(data: bytes) -> GeneratedHive:
    """A writable ``GeneratedHive`` over a copy of ``data``."""
    hive = GeneratedHive.from_bytes(data, writable=True)
    assert isinstance(hive, GeneratedHive)
    return hive


def generated_bytes(hive: GeneratedHive) -> GeneratedHiveBytes:
    out = GeneratedHiveBytes(hive.to_bytes())
    out.recipe = hive.recipe
    out.label = hive.label
    hive.close()
    return out
