"""What the status bar shows, read from the app's conversation.

Kept out of ``app.py`` (which stays small): the run configuration, token
counts, storage trouble, and the context meter (how full the model's window
is, what the conversation cost, and whether it is past the compaction
threshold).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ikigai.tui.widgets.status_bar import StatusInfo

if TYPE_CHECKING:
    from ikigai.tui.app import IkigaiApp


def status_info(app: IkigaiApp) -> StatusInfo:
    """The status bar's information for ``app`` as it stands."""
    run = app.current_run
    conversation = app._conversation
    missing = run.missing_key_vars
    warning = f"set {' or '.join(missing)}" if missing else ""
    if conversation is None:
        return StatusInfo(
            profile=run.profile, model=run.model_spec, thinking=run.thinking, warning=warning
        )
    if conversation.storage_problem:
        warning = warning or "not saved"
    tokens = conversation.tokens
    fill = conversation.context_fill()
    threshold = conversation.settings.context.compact_threshold
    return StatusInfo(
        profile=run.profile,
        model=run.model_spec,
        thinking=run.thinking,
        last_tokens=(tokens.last_input, tokens.last_output),
        total_tokens=tokens.total,
        conversation=conversation.id,
        warning=warning,
        context_fill=fill,
        cost_usd=conversation.cost_usd,
        cost_partial=conversation.cost_partial,
        context_warning=fill is not None and fill > threshold,
    )
