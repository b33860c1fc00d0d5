"""Where a key stands in a TOML file ("FILE:LINE: "), for error messages only: worked out from
the text when an error is raised, never while loading."""

import tomllib
from pathlib import Path
from typing import Any


def where(path: Path, text: str, table_path: tuple[str, ...], key: str) -> str:
    line = locate(text, table_path, key)
    return f"{path}:{line}: " if line else f"{path}: "


def locate(text: str, table_path: tuple[str, ...], key: str) -> int | None:
    """Best-effort line number of `key` inside the table `table_path` (only used for errors)."""
    current: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("[") and not line.startswith("[["):
            header = line.split("#", 1)[0].strip()
            try:
                parsed = tomllib.loads(f"{header}\n")
            except tomllib.TOMLDecodeError:
                continue
            current = ()
            node: Any = parsed
            while isinstance(node, dict) and len(node) == 1:
                (part, node), = node.items()
                current += (part,)
            if current[:len(table_path) + 1] == (*table_path, key):
                return number
            continue
        if current == table_path and "=" in line:
            name = line.split("=", 1)[0].strip().strip("\"'")
            if name == key:
                return number
    return None
