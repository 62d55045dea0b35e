"""``@path`` attachments: finding them, the file_read rules, every wire format, resuming."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from ikigai.engine.attachments import AttachmentError, load, mentions
from ikigai.engine.conversation import AttachmentRefused
from ikigai.engine.tools.base import ToolContext
from tests.engine.helpers import rows, run_turn
from tests.fakeserver import FakeServer, Reply, Text

LIMIT = 5 * 1024 * 1024


def png_bytes() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_mentions_skip_code_emails_and_repeat() -> None:
    prompt = (
        'Compare @src/app.py with @"notes/my plan.md", mail me at a@b.com, '
        "see `@not/this.py` and\n```\n@decorator.py\n```\nthen @src/app.py again (@x.txt)."
    )
    assert mentions(prompt) == ["src/app.py", "notes/my plan.md", "x.txt)."]


def test_a_text_file_and_an_image_are_read(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("# Plan\nship it\n", encoding="utf-8")
    (tmp_path / "shot.png").write_bytes(png_bytes())
    context = ToolContext(cwd=tmp_path)
    text = load("notes.md", context, LIMIT)
    assert text is not None and (text.kind, text.text, text.shown) == (
        "text",
        "# Plan\nship it\n",
        "notes.md",
    )
    assert text.sha256 == hashlib.sha256(b"# Plan\nship it\n").hexdigest()
    image = load("shot.png", context, LIMIT)
    assert image is not None and (image.kind, image.media_type) == ("image", "image/png")
    assert base64.b64decode(image.data or "") == png_bytes()
    # Trailing punctuation of a sentence is not part of the name.
    assert load("notes.md.", context, LIMIT) == text


def test_bad_attachments_are_refused_with_a_reason(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "sub").mkdir()
    (tmp_path / "secret.txt").write_text("outside", encoding="utf-8")
    (work / "link.txt").symlink_to(tmp_path / "secret.txt")
    (work / "blob.bin").write_bytes(b"\x00\x01\x02binary")
    (work / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    (work / "fake.png").write_text("not an image", encoding="utf-8")
    with open(work / "huge.log", "wb") as handle:  # 50 MB, sparse: nothing is written
        handle.truncate(50 * 1024 * 1024)
    os.mkfifo(work / "pipe.txt")
    context = ToolContext(cwd=work)
    cases = {
        "missing.txt": "no such file",
        "sub": "is a directory",
        "../secret.txt": "outside the allowed directories",
        "link.txt": "symlink",
        "blob.bin": "binary file",
        "latin.txt": "not UTF-8",
        "fake.png": "not a valid image/png",
        "huge.log": "50.0 MB; attachments are limited to 5.0 MB",
        "pipe.txt": "named pipe",
    }
    for raw, reason in cases.items():
        with pytest.raises(AttachmentError, match=reason):
            load(raw, context, LIMIT)
    # A plain word is not a path: "@here" stays text.
    assert load("here", context, LIMIT) is None


async def test_a_refused_attachment_sends_and_stores_nothing(
    tmp_path: Path, fake_server: FakeServer, opened
) -> None:
    conversation = await opened(tmp_path, fake_server, "openai-chat/fake-model")
    with pytest.raises(AttachmentRefused, match=r"@missing\.txt: no such file"):
        await run_turn(conversation.send("read @missing.txt please"))
    assert fake_server.requests == []
    assert conversation.context_length == 0
    assert await conversation.close()
    assert rows(tmp_path / "ikigai.db", "SELECT count(*) FROM messages") == [(0,)]


def _user_content(provider: str, body: dict[str, Any]) -> Any:
    if provider == "anthropic":
        return body["messages"][0]["content"]
    if provider == "google":
        return body["contents"][0]["parts"]
    if provider == "openai":
        return body["input"][0]["content"]
    return body["messages"][0]["content"]


IMAGE_PARTS = {
    "anthropic": lambda data: {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": data},
    },
    "openai": lambda data: {
        "type": "input_image",
        "image_url": f"data:image/png;base64,{data}",
        "detail": "auto",
    },
    "openai-chat": lambda data: {
        "type": "image_url",
        "image_url": {"url": f"data:image/png;base64,{data}"},
    },
    "google": lambda data: {"inlineData": {"mimeType": "image/png", "data": data}},
}


@pytest.mark.parametrize(
    "model",
    [
        "anthropic/claude-sonnet-4-5",
        "openai/gpt-5",
        "openai-chat/gpt-4o",
        "google/gemini-2.5-flash",
    ],
)
async def test_attachments_reach_every_wire_format_and_survive_a_resume(
    tmp_path: Path, fake_server: FakeServer, model: str, opened
) -> None:
    provider = model.partition("/")[0]
    (tmp_path / "notes.md").write_text("ship it on Friday", encoding="utf-8")
    (tmp_path / "shot.png").write_bytes(png_bytes())
    encoded = base64.b64encode(png_bytes()).decode()
    fake_server.enqueue(Reply([Text("Seen.")]), Reply([Text("Again.")]))
    conversation = await opened(tmp_path, fake_server, model)
    await run_turn(conversation.send("What do @notes.md and @shot.png say?"))
    conversation_id = conversation.id
    assert await conversation.close()

    content = _user_content(provider, fake_server.requests[0].json)
    dumped = json.dumps(content)
    assert "What do @notes.md and @shot.png say?" in dumped
    assert '<attachment path=\\"notes.md\\">\\nship it on Friday\\n</attachment>' in dumped
    assert IMAGE_PARTS[provider](encoded) in content

    [(data,)] = rows(tmp_path / "ikigai.db", "SELECT data FROM messages WHERE kind = 'user'")
    records = json.loads(data)["attachments"]
    assert [(r["shown"], r["kind"], r["size"]) for r in records] == [
        ("notes.md", "text", 17),
        ("shot.png", "image", len(png_bytes())),
    ]
    assert records[0]["content"] == "ship it on Friday" and "content" not in records[1]
    assert records[1]["sha256"] == hashlib.sha256(png_bytes()).hexdigest()

    # A resumed conversation sends the same first message.
    again = await opened(tmp_path, fake_server, model)
    assert conversation_id is not None
    await again.open(conversation_id)
    await run_turn(again.send("and now?"))
    assert await again.close()
    assert _user_content(provider, fake_server.requests[1].json) == content


async def test_a_changed_image_is_not_sent_on_resume(
    tmp_path: Path, fake_server: FakeServer, opened
) -> None:
    (tmp_path / "shot.png").write_bytes(png_bytes())
    fake_server.enqueue(Reply([Text("Seen.")]), Reply([Text("Again.")]))
    conversation = await opened(tmp_path, fake_server, "anthropic/claude-sonnet-4-5")
    await run_turn(conversation.send("look at @shot.png"))
    conversation_id = conversation.id
    assert await conversation.close() and conversation_id is not None
    (tmp_path / "shot.png").write_bytes(png_bytes() + b"changed")
    again = await opened(tmp_path, fake_server, "anthropic/claude-sonnet-4-5")
    await again.open(conversation_id)
    await run_turn(again.send("and now?"))
    assert await again.close()
    first = fake_server.requests[1].json["messages"][0]["content"]
    assert [block["type"] for block in first] == ["text", "text"]
    assert "shot.png attached here is no longer available" in first[1]["text"]


async def test_an_image_for_a_model_without_image_input_is_refused(
    tmp_path: Path, fake_server: FakeServer, opened
) -> None:
    (tmp_path / "shot.png").write_bytes(png_bytes())
    conversation = await opened(tmp_path, fake_server, "openai/o3-mini", db=False)
    with pytest.raises(AttachmentRefused, match="does not take images"):
        await run_turn(conversation.send("describe @shot.png"))
    assert fake_server.requests == []
    await conversation.close()
