"""``@path`` in a prompt: files attached to the user message.

``mentions(prompt)`` finds the ``@path`` words (``@"a path with spaces"``
too); words inside code (fenced or between backticks) and ``a@b`` are not
mentions. ``load(raw, context, max_bytes)`` reads one file under the same
rules as the ``file_read`` tool: the path must resolve (symlinks followed)
inside the working directory or the extra roots, must be a regular file (a
FIFO or a device is refused before it is opened, so it cannot block), must
not be larger than ``max_bytes``, and must be UTF-8 text or an image (PNG,
JPEG, GIF or WebP, recognised by its bytes, not only its name). Anything else
is refused with an ``AttachmentError`` saying why, and nothing is sent.

A text file becomes a text block after the prompt, an image an image block
(each provider serializes it in its own format). What was attached is stored
with the user message (``attachment_records``): path, size and SHA-256 for
every file, and the text itself for text files, so a resumed conversation
sends the same context (``blocks_from_records``; an image is read again and
used only if its hash still matches).

A mention of a word without a dot or a slash that names no file (``@here``,
a decorator in pasted code) is left as text; one that looks like a path and
does not exist is an error.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ikigai.engine.tools.base import ToolContext, ToolError
from ikigai.engine.tools.confinement import display_path, resolve_path
from ikigai.engine.tools.regular import check_regular, open_regular
from ikigai.engine.tools.textfiles import SNIFF_BYTES, looks_binary
from ikigai.providers.request import ContentBlock, ImageBlock, TextBlock

AttachmentKind = Literal["text", "image"]

IMAGE_EXTENSIONS = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}

_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)
_MENTION = re.compile(r'(?<![^\s(\[{])@(?:"([^"\n]+)"|([^\s"`]+))')
_TRAILING = ".,;:!?)]}>'"


class AttachmentError(Exception):
    """A file that cannot be attached; the message says which and why, for the user."""


@dataclass(frozen=True, slots=True)
class Attachment:
    """One attached file, read and checked."""

    shown: str
    """The path as the prompt wrote it (relative to the working directory when inside)."""
    path: Path
    """The resolved absolute path."""
    size: int
    sha256: str
    kind: AttachmentKind
    media_type: str
    text: str | None = None
    data: str | None = None
    """The image's bytes, base64-encoded."""

    def block(self) -> ContentBlock:
        """The content block sent to the model."""
        if self.kind == "image":
            return ImageBlock(self.media_type, self.data or "", self.shown)
        return TextBlock(attachment_text(self.shown, self.text or ""))

    def record(self) -> dict[str, Any]:
        """What is stored with the user message (``data["attachments"]``)."""
        record: dict[str, Any] = {
            "path": str(self.path),
            "shown": self.shown,
            "size": self.size,
            "sha256": self.sha256,
            "kind": self.kind,
            "media_type": self.media_type,
        }
        if self.kind == "text":
            record["content"] = self.text or ""
        return record


def attachment_text(shown: str, text: str) -> str:
    """A text attachment as the model reads it, after the prompt."""
    return f'\n\n<attachment path="{shown}">\n{text}\n</attachment>'


def mentions(prompt: str) -> list[str]:
    """The ``@path`` mentions of ``prompt``, in order, each once (code is skipped)."""
    outside_code = _CODE.sub(lambda match: " " * len(match.group(0)), prompt)
    found: dict[str, None] = {}
    for match in _MENTION.finditer(outside_code):
        found[match.group(1) or match.group(2)] = None
    return list(found)


def _looks_like_path(raw: str) -> bool:
    return "/" in raw or "." in raw.strip(_TRAILING) or raw.startswith("~")


def _image_type(head: bytes) -> str | None:
    """The image type a file's first bytes announce (``None``: not one of ours)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _megabytes(size: int) -> str:
    return f"{size / 1_048_576:.1f} MB" if size >= 1_048_576 else f"{size / 1024:.0f} KB"


def load(raw: str, context: ToolContext, max_bytes: int) -> Attachment | None:
    """Read and check the file ``@raw`` names; ``None`` when ``raw`` is plainly not a path.

    Raises ``AttachmentError`` for a file that must not or cannot be attached.
    """
    candidates = [raw]
    stripped = raw.rstrip(_TRAILING)
    if stripped and stripped != raw:
        candidates.append(stripped)
    for candidate in candidates:
        attached = _try(candidate, context, max_bytes)
        if attached is not None:
            return attached
    if not _looks_like_path(raw):
        return None
    raise AttachmentError(f"@{stripped or raw}: no such file")


def _try(raw: str, context: ToolContext, max_bytes: int) -> Attachment | None:
    try:
        path = resolve_path(raw, context)
    except ToolError as exc:
        raise AttachmentError(f"@{raw}: {exc}") from None
    if path.is_dir():
        raise AttachmentError(f"@{raw} is a directory; attach the files in it one by one")
    try:
        info = check_regular(path, raw, "@")
    except ToolError as exc:
        raise AttachmentError(f"@{raw}: {exc}") from None
    if info is None:
        return None
    if info.st_size > max_bytes:
        raise AttachmentError(
            f"@{raw} is {_megabytes(info.st_size)}; attachments are limited to "
            f"{_megabytes(max_bytes)} ([context] attachment_max_bytes)"
        )
    try:
        fd = open_regular(path, raw, "@")
    except ToolError as exc:
        raise AttachmentError(f"@{raw}: {exc}") from None
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise AttachmentError(f"@{raw} grew past {_megabytes(max_bytes)} while it was read")
    shown = display_path(path, context)
    digest = hashlib.sha256(data).hexdigest()
    image = _image_type(data[:16])
    claimed = IMAGE_EXTENSIONS.get(path.suffix.lower())
    if image is not None:
        encoded = base64.b64encode(data).decode("ascii")
        return Attachment(shown, path, len(data), digest, "image", image, data=encoded)
    if claimed is not None:
        raise AttachmentError(f"@{raw} is named like an image but is not a valid {claimed} file")
    if looks_binary(data[:SNIFF_BYTES]):
        raise AttachmentError(
            f"@{raw} is a binary file; only text files and images (png, jpeg, gif, webp) "
            "can be attached"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise AttachmentError(
            f"@{raw} is not UTF-8 text; only text files and images can be attached"
        ) from None
    return Attachment(shown, path, len(data), digest, "text", "text/plain", text=text)


def load_all(raws: Sequence[str], context: ToolContext, max_bytes: int) -> list[Attachment]:
    """Every mentioned file that is one (see ``load``), each once by resolved path."""
    attached: dict[Path, Attachment] = {}
    for raw in raws:
        found = load(raw, context, max_bytes)
        if found is not None and found.path not in attached:
            attached[found.path] = found
    return list(attached.values())


def attachment_records(attachments: Iterable[Attachment]) -> list[dict[str, Any]]:
    """The stored form of ``attachments`` (see ``Attachment.record``)."""
    return [attachment.record() for attachment in attachments]


def blocks_from_records(records: object) -> list[ContentBlock]:
    """The content blocks stored attachments stand for, as they were first sent.

    Text comes from the stored copy. An image is read again from its path and
    used when its size and hash are unchanged; otherwise the model gets a note
    that it is no longer available.
    """
    if not isinstance(records, list):
        return []
    blocks: list[ContentBlock] = []
    for record in records:
        if not isinstance(record, Mapping):
            continue
        shown = str(record.get("shown") or record.get("path") or "")
        if record.get("kind") == "text":
            blocks.append(TextBlock(attachment_text(shown, str(record.get("content", "")))))
        elif record.get("kind") == "image":
            blocks.append(_stored_image(record, shown))
    return blocks


def _stored_image(record: Mapping[str, Any], shown: str) -> ContentBlock:
    path = Path(str(record.get("path", "")))
    size = record.get("size")
    problem = "it was changed or removed"
    try:
        info = check_regular(path, shown, "@")
        if info is not None and info.st_size == size:
            with os.fdopen(open_regular(path, shown, "@"), "rb") as handle:
                data = handle.read(info.st_size + 1)
            if hashlib.sha256(data).hexdigest() == record.get("sha256"):
                media_type = str(record.get("media_type") or "image/png")
                encoded = base64.b64encode(data).decode("ascii")
                return ImageBlock(media_type, encoded, shown)
    except (ToolError, OSError) as exc:
        problem = str(exc)
    return TextBlock(f"\n\n[the image {shown} attached here is no longer available: {problem}]")
