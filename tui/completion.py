"""Tab completion in the app: candidates into the dropdown, a candidate into the input,
and the provider's model list fetched in the background, once per session.

``commands.complete`` says what a line completes to and which candidates there
are; ``accept`` puts one candidate into the line (the word being completed is
replaced: the command name, the argument, or the ``@path``). ``/model`` offers
the cached model list (``engine.model_catalog.cached_models`` reads a file and
never waits on the network); the first time a provider is named, its list is
fetched in a worker (``available_models``, which caches it on disk) and an open
dropdown is refreshed when it arrives. A failed fetch only leaves ikigai's own
list in place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import App
from textual.widgets import OptionList

from ikigai.tui.widgets.completion_popup import CompletionPopup
from ikigai.tui.widgets.prompt_input import PromptInput

if TYPE_CHECKING:
    from ikigai.providers.http import ProviderOptions
    from ikigai.tui.app import IkigaiApp


def accept(line: str, candidate: str) -> str:
    """``line`` with the word being completed replaced by ``candidate`` (a space after
    it, except after a directory or a provider prefix, so Tab can go on)."""
    from ikigai.tui.mention_complete import mention_at_end

    end = "" if candidate.endswith("/") else " "
    raw = mention_at_end(line)
    if raw is not None:
        return f"{line[: len(line) - len(raw) - 1]}{candidate}{end}"
    body = line[1:]
    if " " not in body:
        return f"{candidate} "
    name, _, _arg = body.partition(" ")
    return f"/{name} {candidate}{end}"


def prefetch_models(app: IkigaiApp, provider: str) -> None:
    """Fetch ``provider``'s model list in the background, once per session."""
    from ikigai.engine.settings import ConfigError, provider_options

    if provider in app.models_fetched:
        return
    app.models_fetched.add(provider)
    run = app.current_run
    try:
        if provider == run.provider:
            options, missing = run.options, bool(run.missing_key_vars)
        else:
            options, key_vars, _ = provider_options(app.settings, provider)
            missing = bool(key_vars) and not options.api_key
    except ConfigError:
        return
    app.run_worker(_fetch(app, provider, options, missing), group="models", exit_on_error=False)


async def _fetch(app: IkigaiApp, provider: str, options: ProviderOptions, missing: bool) -> None:
    from ikigai.engine.model_catalog import available_models

    await available_models(provider, options, key_missing=missing)
    popup = app.completion_popup
    field = app.prompt_input
    if popup.is_open and field.text == popup.line and field.text.startswith("/model "):
        _, candidates = app.complete(field.text)
        if len(candidates) > 1:
            popup.show(field.text, candidates)


class CompletionActions(App[int]):
    """The app's side of completion (a mixin of ``IkigaiApp``): Tab asks
    ``commands.complete``; several candidates open the dropdown."""

    models_fetched: set[str]
    """Providers whose model list this session asked for (once each)."""

    def _app(self) -> IkigaiApp:
        from ikigai.tui.app import IkigaiApp

        assert isinstance(self, IkigaiApp)
        return self

    @property
    def completion_popup(self) -> CompletionPopup:
        return self.query_one("#completions", CompletionPopup)

    def complete(self, text: str) -> tuple[str, list[str]]:
        """Tab completion for the input (``tui.commands.complete``)."""
        from ikigai.tui.commands import complete

        app = self._app()
        return complete(text, app, on_provider=lambda provider: prefetch_models(app, provider))

    def on_prompt_input_completions(self, message: PromptInput.Completions) -> None:
        self.completion_popup.show(message.line, message.candidates)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        popup = self.completion_popup
        if event.option_list is not popup:
            return
        event.stop()
        self._app().prompt_input.accept_completion(event.option_index)
