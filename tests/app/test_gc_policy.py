"""The collector policy: what the app keeps is frozen, and unfrozen when it drops messages."""

from __future__ import annotations

import asyncio
import gc

from ikigai.tui.gc_policy import FREEZE_SECONDS, GcPolicy


async def test_settle_freezes_and_a_later_collection_freezes_again_on_the_loop() -> None:
    now = [100.0]
    policy = GcPolicy(clock=lambda: now[0])
    try:
        policy.settle()
        assert policy.freezes == 1
        assert gc.get_freeze_count() > 0
        kept = [[n] for n in range(1000)]  # tracked objects made after the freeze
        gc.collect(1)  # too soon after the last freeze: nothing asked
        await asyncio.sleep(0)
        assert policy.freezes == 1
        now[0] += FREEZE_SECONDS
        frozen = gc.get_freeze_count()
        gc.collect(1)  # a young collection, as the interpreter runs them
        await asyncio.sleep(0)  # the freeze runs on the loop, not in the callback
        assert policy.freezes == 2
        assert gc.get_freeze_count() >= frozen + len(kept)
        policy.released()
        assert gc.get_freeze_count() == 0
    finally:
        policy.close()
        gc.unfreeze()
    assert policy._collected not in gc.callbacks


async def test_a_closed_policy_asks_for_nothing() -> None:
    now = [0.0]
    policy = GcPolicy(clock=lambda: now[0])
    policy.settle()
    policy.close()
    gc.unfreeze()
    now[0] += 10 * FREEZE_SECONDS
    gc.collect(1)
    await asyncio.sleep(0)
    assert policy.freezes == 1
    assert gc.get_freeze_count() == 0
