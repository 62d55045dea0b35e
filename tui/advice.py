"""What to do about a failed answer, said in the error block under it.

``engine``-free wording over ``message_views.error_advice``: when part of the
answer had arrived before the connection broke (or the provider stopped
sending), the block says so and that the partial answer is kept (and stored),
instead of "could not reach the provider", which would be untrue. Live, the
turn's accumulator tells whether text arrived; restored, the stored row does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ikigai.providers.events import Error
    from ikigai.tui.app import IkigaiApp

PARTIAL_ADVICE: dict[str, str] = {
    "network": "The connection broke after part of the answer arrived: the partial answer "
    "above is kept. /retry asks again.",
    "timeout": "The provider stopped sending partway through the answer: the partial answer "
    "above is kept. /retry asks again; raise [providers.{provider}] timeout if it keeps "
    "happening.",
}
KEPT = " The partial answer above is kept."


def advice_for(app: IkigaiApp, error: Error, partial: bool | None = None) -> str:
    """The block's "what to do" line for ``error``; ``partial``: whether part of the
    answer arrived first (``None``: ask the app's last turn)."""
    from ikigai.tui.widgets.message_views import error_advice

    run = app.current_run
    if partial is None:
        partial = _partial_live(app, error)
    if partial and error.category in PARTIAL_ADVICE:
        return PARTIAL_ADVICE[error.category].format(provider=run.provider)
    advice = error_advice(
        error, keys=run.key_env_vars, base_url=run.options.base_url, provider=run.provider
    )
    return advice + KEPT if partial else advice


def _partial_live(app: IkigaiApp, error: Error) -> bool:
    """Whether the response of the app's last turn that ended with ``error`` had text."""
    turn = app.last_turn
    accumulator = turn.accumulator if turn is not None else None
    return accumulator is not None and accumulator.error is error and bool(accumulator.text)
