"""Dump a registry hive with hivex's Python binding, as JSON on stdout.

Run by the *system* interpreter (Debian's ``python3-hivex`` is importable only there)::

    /usr/bin/python3 tests/oracles/_hivex_dump.py HIVE

This file must stay free of third-party and project imports: it runs outside the project's venv.
The parent side is ``tests.oracles.hivex_dump``.

Output: one JSON object, written with ``ensure_ascii=True`` so every name survives the pipe
(including lone surrogates, which become ``\\udXXX`` escapes that ``json.loads`` restores):

``{"format": 1, "fatal": MSG}``
    hivex could not open the hive (or get its root); MSG is hivex's message.
``{"format": 1, "root_name": NAME, "keys": [[DEPTH, NAME, VALUES], ...], "errors": [...]}``
    keys in depth-first pre-order, subkeys in the order ``node_children`` returns them (stored
    order); DEPTH is 0 for the root, which comes first. VALUES is a list of
    ``[NAME, TYPE, BASE64]`` (BASE64 is ``null`` when ``value_value`` raised). ``errors`` lists
    ``[PATH, WHAT, MESSAGE]`` for each node or value that hivex raised for (PATH is the list of
    key names below the root); the walk goes on without it: a key whose name fails is left out
    with its subtree, a key whose children or values fail is kept without them, a value whose
    name fails is left out, a value whose data fails is kept with ``null`` data (its type from
    ``value_type``), and a key that is its own ancestor (a cycle) is left out.

Exit status: 0 whenever the JSON was written (even with ``fatal``), 2 on bad usage.
"""

from __future__ import annotations

import base64
import json
import sys


def _err(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def dump(path: str) -> dict[str, object]:
    try:
        import hivex  # type: ignore[import-not-found,unused-ignore]  # system Python only
    except ImportError as exc:
        return {"format": 1, "fatal": "cannot import hivex: " + _err(exc)}

    try:
        h = hivex.Hivex(path)  # default flags: read-only, no "unsafe" heuristics
        root = h.root()
        root_name = h.node_name(root)
    except Exception as exc:
        return {"format": 1, "fatal": _err(exc)}

    node_name = h.node_name
    node_children = h.node_children
    node_values = h.node_values
    value_key = h.value_key
    value_value = h.value_value
    value_type = h.value_type
    b64 = base64.b64encode

    keys: list[list[object]] = []
    errors: list[list[object]] = []
    # Explicit stack of (node, depth); ``names`` and ``nodes`` hold the current path's key names
    # and node offsets (the root's offset at nodes[0]), cut back to the depth of each popped node.
    # A node that is its own ancestor is a cycle; one node reached from two parents is not (it is
    # listed under both, as hivex's node_children returns it).
    names: list[str] = []
    nodes: list[int] = []
    stack: list[tuple[int, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        del names[max(depth - 1, 0) :]
        del nodes[depth:]
        if depth:
            try:
                name = node_name(node)
            except Exception as exc:
                errors.append([[*names, f"<node 0x{node:x}>"], "node_name", _err(exc)])
                continue
            names.append(name)
        if node in nodes:
            errors.append([list(names), "cycle", f"node 0x{node:x} is its own ancestor"])
            continue
        nodes.append(node)

        values: list[list[object]] = []
        try:
            handles = node_values(node)
        except Exception as exc:
            errors.append([list(names), "node_values", _err(exc)])
            handles = []
        for v in handles:
            try:
                vname = value_key(v)
            except Exception as exc:
                errors.append([list(names), f"value 0x{v:x}: value_key", _err(exc)])
                continue
            try:
                vtype, raw = value_value(v)
            except Exception as exc:
                # Keep the value (name and type) without data; report the failure.
                errors.append([list(names), f"value {vname!r}: value_value", _err(exc)])
                try:
                    vtype = value_type(v)[0]
                except Exception:
                    continue
                values.append([vname, vtype, None])
                continue
            values.append([vname, vtype, b64(raw).decode("ascii")])
        keys.append([depth, names[-1] if depth else root_name, values])

        try:
            children = node_children(node)
        except Exception as exc:
            errors.append([list(names), "node_children", _err(exc)])
            children = []
        for child in reversed(children):
            stack.append((child, depth + 1))

    return {"format": 1, "root_name": root_name, "keys": keys, "errors": errors}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: _hivex_dump.py HIVE", file=sys.stderr)
        return 2
    result = dump(argv[1])
    out = json.dumps(result, ensure_ascii=True, separators=(",", ":"))
    sys.stdout.write(out)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
