"""Which server each read goes to, seen on the wire: public reads (the feed, public profiles, the public
discussion lists) ask for ``secondaryPreferred`` with ``maxStalenessSeconds``; an author's own reads, admin reads
and everything inside a transaction stay on the primary, so an author reads their own write at once."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from pymongo import monitoring

from tests.support.discussions import BASE as DISCUSSIONS
from tests.support.discussions import comment, start_thread
from tests.support.procs import ROOT
from tradesignals.kernel import mongo


class _Finds(monitoring.CommandListener):
    """Records the read preference of every ``find`` while a test listens (registered once per process)."""

    def __init__(self):
        self.active = False
        self.lock = threading.Lock()
        self.seen: list[tuple[str, dict | None]] = []

    def started(self, event):
        if self.active and event.command_name == "find":
            with self.lock:
                self.seen.append((event.command["find"], event.command.get("$readPreference")))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


_FINDS = _Finds()
monitoring.register(_FINDS)


@pytest.fixture
def finds(mongo_uri):
    """Clients made again (so they carry the listener), and what the request under test read."""
    mongo.connect_enabled_aliases(uri_override=mongo_uri)

    def during(call) -> dict[str, set]:
        with _FINDS.lock:
            _FINDS.seen.clear()
        _FINDS.active = True
        try:
            response = call()
        finally:
            _FINDS.active = False
        assert response.status_code == 200, response.content
        modes: dict[str, set] = {}
        for collection, preference in _FINDS.seen:
            mode = "primary" if preference is None else (preference["mode"], preference.get("maxStalenessSeconds"))
            modes.setdefault(collection, set()).add(mode)
        return modes

    return during


PUBLIC = ("secondaryPreferred", 90)


def test_the_public_feed_reads_a_secondary_and_the_owner_s_list_the_primary(finds, owner, admin, anonymous):
    created = owner.create()
    own = finds(lambda: owner.get("/api/v1/trade-signals"))
    assert own["trade_signals"] == {"primary"}
    assert created["id"] in [item["id"] for item in owner.get("/api/v1/trade-signals").json()["results"]]
    assert finds(lambda: anonymous.get("/api/v1/trade-signals/public"))["trade_signals"] == {PUBLIC}
    assert finds(lambda: admin.get("/api/v1/trade-signals/admin"))["trade_signals"] == {"primary"}
    assert finds(lambda: owner.get(f"/api/v1/trade-signals/{created['id']}"))["trade_signals"] == {"primary"}


def test_an_edit_is_read_back_by_its_author_at_once(finds, owner):
    created = owner.create()
    edited = owner.patch(f"/api/v1/trade-signals/{created['id']}", {"rationale": "A sharper rationale"},
                         headers={"If-Match": f'"v{created["version"]}"'})
    assert edited.status_code == 200, edited.content
    reads = finds(lambda: owner.get(f"/api/v1/trade-signals/{created['id']}"))
    assert reads["trade_signals"] == {"primary"}
    assert owner.get(f"/api/v1/trade-signals/{created['id']}").json()["rationale"] == "A sharper rationale"


def test_a_public_profile_reads_a_secondary_and_me_the_primary(finds, owner, anonymous):
    from tests.support.users import Feed

    Feed().registered(owner.user_id, display_name="Olivia Owner")
    assert finds(lambda: anonymous.get(f"/api/v1/users/{owner.user_id}"))["user_profiles"] == {PUBLIC}
    assert finds(lambda: owner.get("/api/v1/users/me"))["user_profiles"] == {"primary"}


def test_public_discussion_lists_read_a_secondary_and_administrators_the_primary(finds, owner, other, admin,
                                                                                 anonymous):
    thread = start_thread(owner)
    comment(other, thread["id"])
    assert finds(lambda: anonymous.get(DISCUSSIONS))["discussion_threads"] == {PUBLIC}
    page = finds(lambda: anonymous.get(f"{DISCUSSIONS}/{thread['id']}/comments"))
    assert page == {"discussion_threads": {PUBLIC}, "discussion_comments": {PUBLIC}}
    assert finds(lambda: admin.get(DISCUSSIONS))["discussion_threads"] == {"primary"}
    assert finds(lambda: admin.get(f"{DISCUSSIONS}/{thread['id']}/comments"))["discussion_comments"] == {"primary"}


def test_the_preference_is_configurable_per_slice(finds, settings, anonymous, owner):
    settings.MONGODB_PUBLIC_READS = {**settings.MONGODB_PUBLIC_READS, "signals": ("nearest", 120)}
    assert finds(lambda: anonymous.get("/api/v1/trade-signals/public"))["trade_signals"] == {("nearest", 120)}
    assert finds(lambda: anonymous.get(DISCUSSIONS))["discussion_threads"] == {PUBLIC}
    settings.MONGODB_PUBLIC_READS = {**settings.MONGODB_PUBLIC_READS, "signals": ("primary", 90)}
    assert finds(lambda: anonymous.get("/api/v1/trade-signals/public?limit=3"))["trade_signals"] == {"primary"}
    assert mongo.public_cache_ttl("signals") == settings.CACHE_TTL_SECONDS
    assert mongo.public_cache_ttl("discussions") == min(settings.CACHE_TTL_SECONDS, 90)


def _boot(**env) -> subprocess.CompletedProcess:
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.MONGODB_PUBLIC_READS['signals'], settings.MONGODB_PUBLIC_READS['users'])")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DJANGO_SETTINGS_MODULE": "settings.test", **env})


def test_settings_per_slice_and_refusals():
    booted = _boot(MONGODB_PUBLIC_READ_PREFERENCE_SIGNALS="nearest", MONGODB_MAX_STALENESS_SECONDS="300")
    assert booted.returncode == 0, booted.stderr[-800:]
    assert booted.stdout.strip() == "('nearest', 300) ('secondaryPreferred', 300)"
    refused = _boot(MONGODB_MAX_STALENESS_SECONDS="30")
    assert refused.returncode != 0 and "MONGODB_MAX_STALENESS_SECONDS must be between 90" in refused.stderr
    refused = _boot(MONGODB_PUBLIC_READ_PREFERENCE="secondarypreferred")
    assert refused.returncode != 0 and "MONGODB_PUBLIC_READ_PREFERENCE must be one of" in refused.stderr
