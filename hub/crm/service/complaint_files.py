"""Complaint attachments: checked on the way in, kept under the instance folder by a random key,
and handed back only to those who may see the customer."""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from hub.core.auth import User
from hub.core.refusals import FieldError, Forbidden, NotFound, ValidationError
from hub.core.validation import MAX_ID
from hub.crm.service.complaints import can_work, load_complaint
from hub.crm.service.models import Complaint, ComplaintAttachment

MAX_BYTES = 10 * 1024 * 1024
CHUNK = 64 * 1024

# The type is decided by the extension and checked against the file's first bytes; what the
# browser claims is ignored, so an .html page cannot pass as an image.
TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
}
_ZIP = (b"PK\x03\x04",)
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
MAGIC: dict[str, tuple[bytes, ...]] = {
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".pdf": (b"%PDF-",),
    ".doc": _OLE,
    ".xls": _OLE,
    ".ppt": _OLE,
    ".docx": _ZIP,
    ".xlsx": _ZIP,
    ".pptx": _ZIP,
    ".odt": _ZIP,
    ".ods": _ZIP,
    ".odp": _ZIP,
}


@dataclass(frozen=True)
class StoredFile:
    key: str
    filename: str
    content_type: str
    size: int


def attachments_dir(instance_dir: str | Path) -> Path:
    return Path(instance_dir) / "attachments"


def sanitize_filename(name: str) -> str:
    """A name safe to store and to send back in a header; Chinese and other letters are kept."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]  # old browsers send the whole client path
    # Control and format characters (NUL, newlines, right-to-left overrides) are dropped.
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r'[<>:"|?*;]', "_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    if len(name) > 150:
        stem, ext = os.path.splitext(name)
        name = stem[: 150 - len(ext[:20])] + ext[:20]
    return name or "attachment"


def _looks_right(ext: str, head: bytes) -> bool:
    if ext == ".webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if ext in (".txt", ".csv"):
        return b"\x00" not in head
    return any(head.startswith(m) for m in MAGIC[ext])


def store_upload(
    stream: IO[bytes], filename: str, instance_dir: str | Path, field: str = "attachments"
) -> StoredFile:
    """Check and keep one uploaded file; raises a ValidationError on `field` naming the file."""
    name = sanitize_filename(filename)
    ext = os.path.splitext(name)[1].lower()
    if ext not in TYPES:
        raise ValidationError(
            [
                FieldError(
                    field,
                    _(
                        "%(name)s: this kind of file is not accepted. Send an image, a PDF, a "
                        "text file or an office document.",
                        name=name,
                    ),
                )
            ]
        )
    folder = attachments_dir(instance_dir)
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(24)
    partial = folder / f".{key}.part"
    size = 0
    head = b""
    try:
        with open(partial, "xb") as out:
            while chunk := stream.read(CHUNK):
                if len(head) < 8192:
                    head += chunk[: 8192 - len(head)]
                size += len(chunk)
                if size > MAX_BYTES:
                    raise ValidationError(
                        [
                            FieldError(
                                field,
                                _(
                                    "%(name)s is larger than %(mb)d MB.",
                                    name=name,
                                    mb=MAX_BYTES // (1024 * 1024),
                                ),
                            )
                        ]
                    )
                out.write(chunk)
        if size == 0:
            raise ValidationError([FieldError(field, _("%(name)s is empty.", name=name))])
        if not _looks_right(ext, head):
            raise ValidationError(
                [
                    FieldError(
                        field,
                        _(
                            "%(name)s is not really a %(ext)s file.",
                            name=name,
                            ext=ext[1:].upper(),
                        ),
                    )
                ]
            )
        os.replace(partial, folder / key)
    finally:
        partial.unlink(missing_ok=True)
    return StoredFile(key, name, TYPES[ext], size)


def discard(instance_dir: str | Path, keys: list[str]) -> None:
    """Remove kept files whose rows were never stored (or were deleted)."""
    for key in keys:
        (attachments_dir(instance_dir) / key).unlink(missing_ok=True)


def attach(
    db: Session, actor: User, complaint: Complaint, stored: StoredFile
) -> ComplaintAttachment:
    if not can_work(actor, complaint):
        raise Forbidden(_("Your role may look at this complaint but not work on it."))
    row = ComplaintAttachment(
        filename=stored.filename,
        content_type=stored.content_type,
        size=stored.size,
        storage_key=stored.key,
    )
    complaint.attachments.append(row)
    db.flush()
    return row


def add_attachment(
    db: Session,
    actor: User,
    complaint: Complaint,
    stream: IO[bytes],
    filename: str,
    instance_dir: str | Path,
) -> ComplaintAttachment:
    """Check, keep and attach one file to a complaint the actor works on."""
    if not can_work(actor, complaint):
        raise Forbidden(_("Your role may look at this complaint but not work on it."))
    stored = store_upload(stream, filename, instance_dir)
    try:
        return attach(db, actor, complaint, stored)
    except Exception:
        discard(instance_dir, [stored.key])
        raise


def load_attachment(db: Session, user: User, attachment_id: int) -> ComplaintAttachment:
    """The attachment row, if the user may see the complaint's customer."""
    row = db.get(ComplaintAttachment, attachment_id) if 0 < attachment_id <= MAX_ID else None
    if row is None:
        raise NotFound(_("There is no attachment %(id)s.", id=attachment_id))
    load_complaint(db, user, row.complaint_id)
    return row


def open_attachment(
    db: Session, user: User, attachment_id: int, instance_dir: str | Path
) -> tuple[ComplaintAttachment, Path]:
    """The attachment and its file, if the user may see the complaint's customer."""
    row = load_attachment(db, user, attachment_id)
    path = attachments_dir(instance_dir) / row.storage_key
    if not path.is_file():
        raise NotFound(_("The file of this attachment is missing from the server."))
    return row, path


def remove_attachment(db: Session, actor: User, row: ComplaintAttachment) -> str:
    """Delete the row; returns the key whose file to `discard` once the change is committed."""
    if not can_work(actor, row.complaint):
        raise Forbidden(_("Your role may look at this complaint but not work on it."))
    key = row.storage_key
    db.delete(row)
    db.flush()
    return key
