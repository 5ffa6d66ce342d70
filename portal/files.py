"""Uploaded files (proof documents, association papers): PDF, JPEG or PNG, checked by content.

Files are stored under CARNET_DATA_DIR/files, outside any web root, named by a random id; only
the service that owns the record decides who may read them (DESIGN.md rule 7).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from portal.errors import DomainError
from portal.settings import Settings

MAX_FILE_BYTES = 5 * 1024 * 1024

# What the first bytes of each accepted kind look like; the name and the declared type are ignored.
_SIGNATURES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


class UnsupportedFile(DomainError):
    code = "unsupported_file"
    status_code = 422
    message = "Le fichier doit être un PDF, une image JPEG ou PNG."


class FileTooLarge(DomainError):
    code = "file_too_large"
    status_code = 413
    message = "Le fichier dépasse la taille autorisée (5 Mo)."


@dataclass(frozen=True)
class StoredFile:
    key: str  # relative path under the files folder
    content_type: str
    size: int
    sha256: str


def sniff(data: bytes) -> tuple[str, str]:
    """(content type, extension) of an accepted file, or UnsupportedFile."""
    for magic, content_type, extension in _SIGNATURES:
        if data.startswith(magic):
            return content_type, extension
    raise UnsupportedFile()


def files_root(settings: Settings) -> Path:
    return settings.data_dir / "files"


def store_file(settings: Settings, data: bytes, *, max_bytes: int = MAX_FILE_BYTES) -> StoredFile:
    if len(data) > max_bytes:
        raise FileTooLarge()
    if not data:
        raise UnsupportedFile("Le fichier est vide.")
    content_type, extension = sniff(data)
    key = f"{secrets.token_hex(2)}/{secrets.token_urlsafe(24)}.{extension}"
    path = files_root(settings) / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return StoredFile(
        key=key, content_type=content_type, size=len(data), sha256=hashlib.sha256(data).hexdigest()
    )


def read_file(settings: Settings, key: str) -> bytes:
    root = files_root(settings).resolve()
    path = (root / key).resolve()
    if root not in path.parents:  # a key is ours, but never let one escape the folder
        raise UnsupportedFile("Fichier introuvable.")
    return path.read_bytes()


def delete_file(settings: Settings, key: str) -> None:
    root = files_root(settings).resolve()
    path = (root / key).resolve()
    if root in path.parents:
        path.unlink(missing_ok=True)
