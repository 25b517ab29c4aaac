"""Comment counts on the profile: fed by ``discussion.*`` events, unchanged by replays, the same in any order."""
import random
import threading
from concurrent.futures import ThreadPoolExecutor

from apps.users import services
from tests.support.api import new_id
from tests.support.users import stored_profile
from tradesignals.kernel import events, mongo
from tradesignals.kernel.events import inbox

ME = "/api/v1/users/me"
PROJECTION = ("user_profiles", "user_comment_states", "user_comment_threads")


def comments(user_id: str) -> int:
    return (stored_profile(user_id) or {}).get("comments_count", 0)


def forget_processed_ids() -> None:
    """As if the bus's processed-ids TTL had expired: only the per-comment states protect the counts now."""
    mongo.database("users")[inbox.INBOX_COLLECTION].delete_many({})


def rebuild(deliveries) -> None:
    """Empty the projection and the bus's memory of it, then deliver ``deliveries`` in that order."""
    db = mongo.database("users")
    for name in PROJECTION:
        db[name].delete_many({})
    forget_processed_ids()
    for event in deliveries:
        events.deliver(event)


def test_counts_follow_create_hide_unhide_delete_and_thread_delete(feed):
    author, other = feed.registered(), feed.registered()
    thread, second_thread = new_id(), new_id()
    first = feed.comment_created(author, thread_id=thread)
    second = feed.comment_created(author, thread_id=thread)
    third = feed.comment_created(author, thread_id=second_thread)
    feed.comment_created(other, thread_id=thread)
    assert (comments(author), comments(other)) == (3, 1)

    feed.comment_hidden(first, version=1)
    assert comments(author) == 2
    feed.comment_hidden(first, hidden=False, version=2)
    assert comments(author) == 3
    feed.comment_deleted(third)
    assert comments(author) == 2

    feed.comment_hidden(second, version=1)  # hidden when its thread goes: already not counted
    assert comments(author) == 1
    feed.thread_deleted(thread, author)
    assert (comments(author), comments(other)) == (0, 0)

    feed.comment_hidden(second, hidden=False, version=2)  # shown again, but its thread is gone
    feed.comment_created(author, thread_id=second_thread)
    assert (comments(author), comments(other)) == (1, 0)


def test_replaying_every_event_changes_nothing(feed):
    author = feed.registered()
    thread = new_id()
    kept = feed.comment_created(author)
    hidden = feed.comment_created(author)
    deleted = feed.comment_created(author)
    feed.comment_created(author, thread_id=thread)
    feed.comment_hidden(kept, version=1)
    feed.comment_hidden(kept, hidden=False, version=2)
    feed.comment_hidden(hidden, version=1)
    feed.comment_deleted(deleted)
    feed.thread_deleted(thread, author)
    before = stored_profile(author)
    assert before["comments_count"] == 1

    for event in feed.published:  # the bus's duplicate delivery
        events.deliver(event)
    assert stored_profile(author) == before

    forget_processed_ids()  # even without the id record each replay is a no-op
    for _ in range(2):
        for event in feed.published:
            events.deliver(event)
    assert stored_profile(author) == before


def test_hidden_before_created_counts_only_once_shown_again(feed):
    author = feed.registered()
    comment = feed.comment_created(author)
    hide = feed.comment_hidden(comment, version=1)
    show = feed.comment_hidden(comment, hidden=False, version=2)

    rebuild([hide, comment])
    assert comments(author) == 0
    events.deliver(show)
    assert comments(author) == 1


def test_the_higher_moderation_version_wins_whatever_the_order(feed):
    author = feed.registered()
    shown_last = feed.comment_created(author)
    hidden_last = feed.comment_created(author)
    hide_1 = feed.comment_hidden(shown_last, version=1)
    show_2 = feed.comment_hidden(shown_last, hidden=False, version=2)
    show_1 = feed.comment_hidden(hidden_last, hidden=False, version=1)
    hide_2 = feed.comment_hidden(hidden_last, version=2)
    assert comments(author) == 1

    rebuild([shown_last, hidden_last, show_2, hide_1, hide_2, show_1])
    assert comments(author) == 1
    assert mongo.database("users")["user_comment_states"].find_one(
        {"_id": hidden_last.data["comment_id"]})["hidden"] is True


def test_a_delete_before_the_create_means_the_comment_never_counts(feed):
    author = feed.registered()
    comment = feed.comment_created(author)
    delete = feed.comment_deleted(comment)
    show = feed.comment_hidden(comment, hidden=False, version=3)

    rebuild([delete, comment, show])
    assert comments(author) == 0


def test_a_thread_deleted_before_its_comments_arrive_never_counts_them(feed):
    author, other = feed.registered(), feed.registered()
    thread = new_id()
    mine = feed.comment_created(author, thread_id=thread)
    theirs = feed.comment_created(other, thread_id=thread)
    elsewhere = feed.comment_created(author)
    gone = feed.thread_deleted(thread, author)
    assert (comments(author), comments(other)) == (1, 0)

    rebuild([gone, theirs, elsewhere, mine])
    assert (comments(author), comments(other)) == (1, 0)


def test_any_order_of_arrival_converges(feed):
    author, other = feed.registered(), feed.registered()
    thread = new_id()
    a = feed.comment_created(author)
    b = feed.comment_created(author)
    c = feed.comment_created(other, thread_id=thread)
    feed.comment_created(author, thread_id=thread)
    e = feed.comment_created(other)
    comment_events = [event for event in feed.published if event.type.startswith("discussion.")]
    comment_events += [
        feed.comment_hidden(a, version=1), feed.comment_hidden(a, hidden=False, version=2),
        feed.comment_hidden(b, version=1), feed.comment_deleted(e), feed.thread_deleted(thread, other),
        feed.comment_hidden(c, hidden=False, version=4),
    ]
    expected = (comments(author), comments(other))
    assert expected == (1, 0)  # a (shown again); b hidden, c and d gone with the thread, e deleted

    rng = random.Random(20261203)
    for _ in range(12):
        order = comment_events[:]
        rng.shuffle(order)
        rebuild(order)
        assert (comments(author), comments(other)) == expected, [event.type for event in order]


def test_comments_before_registration_are_kept(feed):
    author = new_id()
    feed.comment_created(author)
    feed.comment_created(author)
    assert stored_profile(author)["registered"] is False
    feed.registered(author, email="late.commenter@example.com")
    profile = stored_profile(author)
    assert profile["registered"] is True and profile["comments_count"] == 2


def test_the_public_profile_and_me_show_the_count(feed, client, as_user):
    author = feed.registered(display_name="Chatty Trader")
    caller = as_user(author)
    assert client.get(f"/api/v1/users/{author}").json()["comments"] == 0
    assert caller.get(ME).json()["comments"] == 0  # now cached

    first = feed.comment_created(author)
    feed.comment_created(author)
    assert client.get(f"/api/v1/users/{author}").json()["comments"] == 2
    assert caller.get(ME).json()["comments"] == 2  # the cached /me was dropped on the change

    feed.comment_hidden(first, version=1)
    assert client.get(f"/api/v1/users/{author}").json()["comments"] == 1
    assert caller.get(ME).json()["comments"] == 1


def test_comments_is_read_only(feed, as_user):
    caller = as_user(feed.registered(display_name="Valid"))
    before = stored_profile(caller.user_id)
    response = caller.patch(ME, {"bio": "would be fine", "comments": 99})
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error" and "comments" in error["details"]
    assert stored_profile(caller.user_id) == before


def test_the_openapi_document_describes_comments_on_both_profiles():
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    for path in ("/api/v1/users/me", "/api/v1/users/{user_id}"):
        ref = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        component = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert component["properties"]["comments"]["type"] == "integer", path
        assert "comments" in component.get("required", []), path
    patch = paths["/api/v1/users/me"]["patch"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "comments" not in schema["components"]["schemas"][patch.rsplit("/", 1)[1]]["properties"]


def race_creations_with_the_thread_deletion(authors: list[str], thread: str) -> None:
    start = threading.Barrier(2 * len(authors) + 1)

    def create(author: str) -> None:
        start.wait()
        services.comment_count_apply(comment_id=new_id(), thread_id=thread, author_id=author, created=True)

    def drop() -> None:
        start.wait()
        services.comment_thread_drop(thread_id=thread)

    with ThreadPoolExecutor(max_workers=2 * len(authors) + 1) as pool:
        futures = [pool.submit(create, author) for author in authors * 2] + [pool.submit(drop)]
        for future in futures:
            future.result()


def test_comments_posted_while_their_thread_is_deleted_never_stay_counted(feed):
    """Consumers in several processes: creations racing the thread's deletion each see it or lose to it."""
    authors = [feed.registered() for _ in range(3)]
    for _round in range(3):
        race_creations_with_the_thread_deletion(authors, new_id())
        assert [comments(author) for author in authors] == [0, 0, 0]


def test_concurrent_deliveries_of_one_comment_count_it_once(feed):
    author = feed.registered()
    comment_ids = [new_id() for _ in range(5)]
    thread = new_id()

    def create(comment_id: str) -> None:
        services.comment_count_apply(comment_id=comment_id, thread_id=thread, author_id=author, created=True)

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(create, comment_ids * 3))  # each comment delivered three times, concurrently
    assert comments(author) == 5
