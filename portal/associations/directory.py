"""The identity directory: who an RNA or SIREN number belongs to.

The portal fills in an association's official name from its number (portal guide 3.1). The real
source would be the RNA / SIRENE registers; Carnet reads a local directory instead, so it never
depends on the network: the seed shipped with the package (demo associations of Quimper) plus
`CARNET_DATA_DIR/directory.json`, where operators and `carnet demo-data` register entries
(`register_entries`). Another source only has to satisfy the `Directory` protocol.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from portal.settings import Settings

SEED_PATH = Path(__file__).with_name("directory_seed.json")
LOCAL_FILE = "directory.json"


@dataclass(frozen=True)
class DirectoryEntry:
    name: str
    rna: str | None = None
    siren: str | None = None
    city: str = ""
    domain: str = ""


class Directory(Protocol):
    def lookup(self, *, rna: str | None = None, siren: str | None = None) -> DirectoryEntry | None:
        """The entry with this RNA (tried first) or SIREN, or None when the directory does not know it."""
        ...


def _entries_of(path: Path) -> list[DirectoryEntry]:
    if not path.is_file():
        return []
    raw: Any = json.loads(path.read_text(encoding="utf-8"))
    items = raw.get("entries", []) if isinstance(raw, dict) else raw
    entries = []
    for item in items:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        entries.append(
            DirectoryEntry(
                name=str(item["name"]),
                rna=(str(item["rna"]).upper() if item.get("rna") else None),
                siren=(str(item["siren"]) if item.get("siren") else None),
                city=str(item.get("city") or ""),
                domain=str(item.get("domain") or ""),
            )
        )
    return entries


class JsonFileDirectory:
    """The seed, then the local file (whose entries win: an operator may correct a name).

    The files are read at each lookup: they are small, and another process may have added entries.
    """

    def __init__(self, *paths: Path) -> None:
        self.paths = paths

    def entries(self) -> list[DirectoryEntry]:
        return [entry for path in self.paths for entry in _entries_of(path)]

    def lookup(self, *, rna: str | None = None, siren: str | None = None) -> DirectoryEntry | None:
        found: DirectoryEntry | None = None
        for entry in self.entries():
            if (rna and entry.rna == rna) or (siren and entry.siren == siren):
                found = entry  # keep going: a later file overrides an earlier one
        return found


def local_path(settings: Settings) -> Path:
    return settings.data_dir / LOCAL_FILE


def directory_for(settings: Settings) -> Directory:
    return JsonFileDirectory(SEED_PATH, local_path(settings))


def register_entries(settings: Settings, entries: Iterable[DirectoryEntry]) -> int:
    """Add or replace entries (matched by RNA, else SIREN) in the local file; returns how many.

    Written to a temporary file then renamed, so a reader never sees half a file.
    """
    path = local_path(settings)
    current = _entries_of(path)
    added = 0
    for entry in entries:
        current = [
            e
            for e in current
            if not ((entry.rna and e.rna == entry.rna) or (entry.siren and e.siren == entry.siren))
        ]
        current.append(entry)
        added += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps({"entries": [asdict(e) for e in current]}, ensure_ascii=False, indent=2)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".directory-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(payload)
    Path(tmp).replace(path)
    return added
