"""Several consumers or requests touching one profile at once lose no update."""
from concurrent.futures import ThreadPoolExecutor

from django.test import Client

from apps.users import services
from tests.support.api import Caller, new_id
from tests.support.users import stored_profile

ME = "/api/v1/users/me"


def test_concurrent_signal_events_for_one_owner_all_count(feed):
    owner = feed.registered()
    signals = [new_id() for _ in range(12)]

    def create(signal_id: str) -> None:
        services.signal_count_apply(signal_id=signal_id, owner_id=owner, status="pending", version=None, at_us=1)

    def approve(signal_id: str) -> None:
        services.signal_count_apply(signal_id=signal_id, owner_id=owner, status="approved", version=2, at_us=2)

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(create, signals))
        list(pool.map(approve, signals[:5] + signals[:5]))  # each approval delivered twice, concurrently
    profile = stored_profile(owner)
    assert (profile["signals_pending"], profile["signals_approved"], profile["signals_rejected"]) == (7, 5, 0)


def test_concurrent_edits_and_projection_updates_keep_every_field(feed, as_user):
    caller = as_user(feed.registered(display_name="Start"))
    signal = new_id()

    def edit_bio():  # a client per thread, as separate requests would be
        return Caller(Client(), caller.user_id, name=caller.name).patch(ME, {"bio": "final bio"}).status_code

    def edit_avatar():
        return Caller(Client(), caller.user_id, name=caller.name).patch(ME, {"avatar_url": "https://example.com/a.png"}).status_code

    def promote():
        feed.role_changed(caller.user_id, "user", "admin")

    def count():
        services.signal_count_apply(signal_id=signal, owner_id=caller.user_id, status="pending", version=None,
                                    at_us=1)

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(job) for job in (edit_bio, edit_avatar, promote, count)]
        results = [future.result() for future in futures]
    assert results[:2] == [200, 200]
    body = caller.get(ME).json()
    assert (body["bio"], body["avatar_url"], body["role"], body["signal_counts"]["pending"]) == (
        "final bio", "https://example.com/a.png", "admin", 1)
