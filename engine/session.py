"""The chat session: what the app talks to and where it stores it, without any UI.

Holds the validated config, the resolved run configuration (profile,
provider/model, thinking level, system prompt, key), the provider instance, the
open database, the current conversation id, the model context (``history``)
and the recorder that stores the conversation. Profile/model/thinking switches
update the recorder, so every stored message names what produced it, and are
written as ``command`` rows. Nothing here imports Textual.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ikigai.engine.settings import Config, ConfigError, RunConfig, resolve_run

if TYPE_CHECKING:
    from ikigai.engine.recording import ConversationRecorder
    from ikigai.providers.base import Provider
    from ikigai.providers.request import Message
    from ikigai.storage.models import StoredMessage
    from ikigai.storage.repository import Database


@dataclass(frozen=True, slots=True)
class Tokens:
    """Token counts of the last turn and of the whole conversation (this session)."""

    last_input: int = 0
    last_output: int = 0
    total: int = 0


class ChatSession:
    """The engine state of the app: run configuration, database, conversation, context."""

    def __init__(self, config: Config, run: RunConfig, *, base_url: str | None = None) -> None:
        self.config = config
        self.run = run
        self.base_url = base_url
        self.db: Database | None = None
        self.conversation_id: int = 0
        self.history: list[Message] = []
        self.recorder: ConversationRecorder | None = None
        self.tokens = Tokens()
        self._provider: Provider | None = None
        self._provider_key: tuple[str, str, str | None] | None = None

    # -- configuration ---------------------------------------------------------------

    @property
    def missing_key_vars(self) -> tuple[str, ...]:
        """The env vars to set when the provider needs a key and none is set, else ``()``."""
        if self.run.key_env_vars and not self.run.options.api_key:
            return self.run.key_env_vars
        return ()

    def missing_key_message(self) -> str | None:
        """What to tell the user when no API key is configured, or ``None``."""
        names = self.missing_key_vars
        if not names:
            return None
        provider = self.run.provider
        return (
            f"No API key for provider '{provider}'. Set {' or '.join(names)} in the environment "
            f"(or name another variable with [providers.{provider}] api_key_env in the config), "
            "then restart; or switch with /model PROVIDER/MODEL or /profile NAME."
        )

    def resolve(
        self, *, profile: str | None = None, model: str | None = None, thinking: Any = None
    ) -> RunConfig:
        """A new run configuration (raises ``ConfigError``); the base URL flag only
        applies while the provider stays the one it was given for."""
        candidate = resolve_run(
            self.config,
            profile=profile or self.run.profile,
            model=model,
            thinking=thinking,
            max_turns=self.run.max_turns,
            require_key=False,
        )
        if self.base_url and candidate.provider == self.run.provider:
            candidate = resolve_run(
                self.config,
                profile=profile or self.run.profile,
                model=model,
                thinking=thinking,
                base_url=self.base_url,
                max_turns=self.run.max_turns,
                require_key=False,
            )
        return candidate

    def switch(self, run: RunConfig) -> None:
        """Use ``run`` from the next turn on; the recorder stamps it on new rows."""
        self.run = run
        if self.recorder is not None:
            self.recorder.provider = run.provider
            self.recorder.model = run.model
            self.recorder.thinking_level = run.thinking
            self.recorder.profile = run.profile

    def provider(self) -> Provider:
        """The provider for the current run configuration (created on first use)."""
        key = (self.run.provider, self.run.options.base_url, self.run.options.api_key)
        if self._provider is None or self._provider_key != key:
            from ikigai.providers.registry import create_provider

            self._provider = create_provider(self.run.provider, self.run.options)
            self._provider_key = key
        return self._provider

    # -- storage -----------------------------------------------------------------------

    async def open_database(self, db_flag: str | None) -> None:
        """Open the database (``--db``, ``IKIGAI_DB``, config, default)."""
        from ikigai.storage.paths import resolve_db_path
        from ikigai.storage.repository import Database

        path = resolve_db_path(db_flag, os.environ, self.config["storage"]["path"])
        self.db = await Database.open(path)

    async def close(self) -> None:
        """Close the database and the shared HTTP client."""
        from ikigai.providers.http import close_shared_client

        await close_shared_client()
        if self.db is not None:
            await self.db.close()
            self.db = None

    async def start_conversation(self) -> None:
        """Begin a new, empty conversation (stored lazily: the row is created now)."""
        assert self.db is not None
        self.conversation_id = await self.db.create_conversation()
        self.history = []
        self.tokens = Tokens()
        self._new_recorder()

    async def open_conversation(self, conversation_id: int) -> list[StoredMessage]:
        """Switch to stored ``conversation_id``; returns its last 50 messages.

        The model context is rebuilt separately (``load_context``) so the
        screen can show the conversation before every row is read.
        """
        assert self.db is not None
        rows = await self.db.load_messages(conversation_id, 50)
        self.conversation_id = conversation_id
        self.history = []
        self.tokens = Tokens()
        self._new_recorder()
        return rows

    async def load_context(self) -> list[StoredMessage]:
        """Rebuild the model context from every stored row; returns the rows."""
        from ikigai.engine.recording import history_from_messages

        assert self.db is not None
        rows = await self.db.all_messages(self.conversation_id)
        # Off the event loop's thread, so the screen keeps painting meanwhile.
        self.history = await asyncio.to_thread(history_from_messages, rows)
        return rows

    def _new_recorder(self) -> None:
        from ikigai.engine.recording import ConversationRecorder

        assert self.db is not None
        self.recorder = ConversationRecorder(
            self.db,
            self.conversation_id,
            provider=self.run.provider,
            model=self.run.model,
            thinking_level=self.run.thinking,
            profile=self.run.profile,
        )

    async def note(self, kind: str, content: str, data: dict[str, Any] | None = None) -> int:
        """Store a non-turn row (``command``, ``mark``, ``rewind``, ``clear``)."""
        assert self.db is not None
        return await self.db.add_message(self.conversation_id, kind, content, data=data)  # type: ignore[arg-type]

    def add_usage(self, input_tokens: int, output_tokens: int) -> None:
        """Count the tokens of one response."""
        t = self.tokens
        self.tokens = Tokens(input_tokens, output_tokens, t.total + input_tokens + output_tokens)


def initial_run(config: Config, args: Any) -> tuple[RunConfig, str | None]:
    """The run configuration from the flags, and a problem to show on screen (or None).

    A bad profile or model never keeps the app from opening: it falls back to the
    default profile and says why.
    """
    try:
        return (
            resolve_run(
                config,
                profile=args.profile,
                model=args.model,
                thinking=args.thinking,
                base_url=args.base_url,
                require_key=False,
            ),
            None,
        )
    except ConfigError as exc:
        problem = str(exc)
    try:
        return resolve_run(config, base_url=args.base_url, require_key=False), problem
    except ConfigError:
        return resolve_run(config, require_key=False), problem
