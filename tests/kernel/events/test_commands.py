"""The operator's commands: run_consumers stops cleanly on SIGTERM, events_status shows lag and dead letters."""
from __future__ import annotations

import io
import json
import signal

import pytest
from django.core.management import call_command

from tests.kernel.events import probe
from tests.support.servers import wait_until


@pytest.mark.parametrize("bus", ["redis", "kafka"], indirect=True)
def test_sigterm_finishes_the_message_in_hand_and_exits_cleanly(bus):
    proc = bus.spawn("run_consumers", "--app", probe.APP, "--import", "tests.kernel.events.probe")
    warmup = probe.publish(1)
    wait_until(lambda: probe.effects().get(warmup.id) == 1, timeout=30, message="the consumer to run")

    event = probe.publish(2, mode="slow")
    wait_until(lambda: probe.runs(event.id) == 1, timeout=20, message="the slow handler to start")
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert "stopped" in output
    assert probe.effects().get(event.id) == 1  # finished, not abandoned
    wait_until(bus.drained, timeout=15, message="the finished message to be acknowledged")


@pytest.mark.parametrize("bus", ["inprocess", "redis"], indirect=True)
def test_events_status_reports_outbox_lag_and_dead_letters(bus):
    consumer = bus.consume()
    poison = probe.publish(1, mode="fail")
    wait_until(lambda: bus.dead_letters() == 1, timeout=20, message="the poison event to be dead-lettered")
    consumer.close()
    probe.publish(2)  # not consumed: the consumer is stopped

    out = io.StringIO()
    call_command("events_status", stdout=out)
    report = json.loads(out.getvalue())
    assert report["backend"] == bus.name
    assert report["groups"][probe.APP]["dead_letters"] == 1
    if bus.name == "redis":
        assert report["groups"][probe.APP]["lag"] == 1
        assert report["outbox"]["signals"] == {"pending": 0, "dead_lettered": 0}
    else:
        assert report["outbox"]["signals"] == {"pending": 0, "dead_lettered": 1}
    assert probe.runs(poison.id) == 3
