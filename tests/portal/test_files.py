from pathlib import Path

import pytest

from portal.files import FileTooLarge, UnsupportedFile, read_file, store_file
from portal.settings import Settings

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _settings(tmp_path: Path) -> Settings:
    return Settings.from_env({}, data_dir=tmp_path, secret_key="x")


def test_accepted_files_are_stored_outside_the_web_root_and_read_back(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    stored = store_file(settings, PDF)
    assert stored.content_type == "application/pdf"
    assert stored.size == len(PDF)
    assert read_file(settings, stored.key) == PDF
    assert (tmp_path / "files" / stored.key).exists()
    assert store_file(settings, PNG).content_type == "image/png"


@pytest.mark.parametrize("data", [b"GIF89a....", b"<html><script>", b"MZ\x90\x00 executable"])
def test_other_content_is_refused_whatever_its_name(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(UnsupportedFile):
        store_file(_settings(tmp_path), data)


def test_files_over_the_limit_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FileTooLarge):
        store_file(_settings(tmp_path), PDF + b"0" * 100, max_bytes=50)


def test_a_key_cannot_escape_the_files_folder(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("x")
    with pytest.raises(UnsupportedFile):
        read_file(_settings(tmp_path), "../secret")
