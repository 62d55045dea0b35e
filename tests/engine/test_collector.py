"""The collector is off during start-up only when start-up turned it off, and comes back on."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from ikigai.engine import collector


@pytest.fixture
def restore_collector() -> Iterator[None]:
    """Leave the test process's collector as it was (on, nothing frozen)."""
    yield
    collector.resume_after_startup()
    gc.unfreeze()
    gc.enable()


@pytest.mark.usefixtures("restore_collector")
def test_pause_then_resume_freezes_start_up_and_turns_the_collector_on() -> None:
    assert gc.isenabled()
    collector.pause_for_startup()
    assert not gc.isenabled()
    assert collector.paused()
    frozen_before = gc.get_freeze_count()
    collector.resume_after_startup()
    assert gc.isenabled()
    assert not collector.paused()
    assert gc.get_freeze_count() > frozen_before


@pytest.mark.usefixtures("restore_collector")
def test_resuming_twice_or_without_a_pause_changes_nothing() -> None:
    collector.pause_for_startup()
    collector.resume_after_startup()
    frozen = gc.get_freeze_count()
    collector.resume_after_startup()
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen


@pytest.mark.usefixtures("restore_collector")
def test_a_collector_someone_else_turned_off_stays_off() -> None:
    gc.disable()
    collector.pause_for_startup()
    assert not collector.paused()
    collector.resume_after_startup()
    assert not gc.isenabled()
