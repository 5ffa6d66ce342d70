"""The identity directory: the shipped seed, the local file, registering entries."""

from __future__ import annotations

from pathlib import Path

from portal.associations.directory import DirectoryEntry, directory_for, register_entries
from portal.settings import Settings


def test_seed_knows_the_demo_associations_of_quimper(tmp_path: Path) -> None:
    directory = directory_for(Settings(data_dir=tmp_path))
    entry = directory.lookup(rna="W294001003")
    assert entry is not None and entry.name == "Quimper Escalade Cornouaille"
    by_siren = directory.lookup(siren="781234505")
    assert by_siren is not None and by_siren.name == "Stade Quimpérois Athlétisme"
    assert directory.lookup(rna="W999999999") is None


def test_registered_entries_are_found_and_override_the_seed(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    register_entries(
        settings,
        [
            DirectoryEntry(name="Les Randonneurs de l'Odet", rna="W291111111"),
            DirectoryEntry(name="Quimper Escalade (nouveau nom)", rna="W294001003"),
        ],
    )
    register_entries(settings, [DirectoryEntry(name="Les Randonneurs de l'Odet 29", rna="W291111111")])
    directory = directory_for(settings)
    assert directory.lookup(rna="W291111111").name == "Les Randonneurs de l'Odet 29"  # type: ignore[union-attr]
    assert directory.lookup(rna="W294001003").name == "Quimper Escalade (nouveau nom)"  # type: ignore[union-attr]
    assert (tmp_path / "directory.json").is_file()
