"""The lifespan machine (ASGI lifespan spec): startup, shutdown, failures, and no support."""

from __future__ import annotations

import pytest

from asgi_core import AppProtocolError, AppReceive, LifespanMachine
from asgi_core.lifespan import (
    LifespanUnsupported,
    ShutdownComplete,
    ShutdownFailed,
    StartupComplete,
    StartupFailed,
)


def drain(machine: LifespanMachine) -> list[object]:
    return list(machine.events())


def test_scope_carries_version_and_the_shared_state() -> None:
    state = {"k": 1}
    machine = LifespanMachine(state)
    assert machine.scope["type"] == "lifespan"
    assert machine.scope["asgi"]["version"] == "3.0"
    assert machine.scope["state"] is state


def test_startup_then_shutdown() -> None:
    machine = LifespanMachine()
    machine.app_receive()
    assert drain(machine) == []  # nothing to receive until startup is asked
    machine.startup()
    assert drain(machine) == [AppReceive(0, {"type": "lifespan.startup"})]
    machine.app_send({"type": "lifespan.startup.complete"})
    assert drain(machine) == [StartupComplete()]
    machine.app_receive()
    machine.shutdown()
    assert drain(machine) == [AppReceive(0, {"type": "lifespan.shutdown"})]
    machine.app_send({"type": "lifespan.shutdown.complete"})
    assert drain(machine) == [ShutdownComplete()]


def test_startup_failed_carries_the_app_message() -> None:
    machine = LifespanMachine()
    machine.startup()
    machine.app_send({"type": "lifespan.startup.failed", "message": "no database"})
    assert drain(machine) == [StartupFailed("no database")]


def test_app_raising_at_startup_means_no_lifespan_support() -> None:
    # Lifespan spec: if the app raises on the lifespan scope, the server continues without it.
    machine = LifespanMachine()
    machine.startup()
    machine.app_finished(ValueError("unknown scope type"))
    (event,) = drain(machine)
    assert isinstance(event, LifespanUnsupported)
    assert "unknown scope type" in event.error
    machine.shutdown()
    assert drain(machine) == [ShutdownComplete()]


def test_raising_during_shutdown_is_a_shutdown_failure() -> None:
    machine = LifespanMachine()
    machine.startup()
    machine.app_send({"type": "lifespan.startup.complete"})
    machine.shutdown()
    drain(machine)
    machine.app_finished(RuntimeError("flush failed"))
    assert drain(machine) == [ShutdownFailed("RuntimeError: flush failed")]


def test_app_that_ends_after_startup_needs_no_shutdown_message() -> None:
    machine = LifespanMachine()
    machine.startup()
    machine.app_send({"type": "lifespan.startup.complete"})
    machine.app_finished(None)
    drain(machine)
    machine.shutdown()
    assert drain(machine) == [ShutdownComplete()]


@pytest.mark.parametrize(
    "message",
    [{"type": "lifespan.shutdown.complete"}, {"type": "http.response.start"}, "junk"],
)
def test_out_of_place_messages_are_refused(message: object) -> None:
    machine = LifespanMachine()
    machine.startup()
    with pytest.raises(AppProtocolError, match="out of place"):
        machine.app_send(message)  # type: ignore[arg-type]
