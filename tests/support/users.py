"""The users projection fed exactly as the accounts, signals and discussions slices feed it: through the bus."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.api import new_id
from tradesignals.kernel import events, mongo


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Feed:
    """Publishes accounts', signals' and discussions' events (payloads of docs/events.md) and remembers them."""

    def __init__(self):
        self.published: list[events.Event] = []

    def _publish(self, event_type: str, key: str, data: dict, producer: str) -> events.Event:
        event = events.publish(event_type, key=key, data=data, producer=producer)
        self.published.append(event)
        return event

    def registered(self, user_id: str | None = None, *, email: str | None = None, role: str = "user",
                   display_name: str = "Ada Lovelace", created_at: datetime | None = None) -> str:
        user_id = user_id or new_id()
        self._publish("user.registered", user_id, {
            "user_id": user_id, "email": email or f"{user_id}@example.com", "role": role,
            "display_name": display_name, "created_at": iso(created_at or datetime.now(UTC)),
        }, "accounts")
        return user_id

    def role_changed(self, user_id: str, old_role: str, new_role: str, by: str = "admin-1") -> events.Event:
        return self._publish("user.role_changed", user_id, {"user_id": user_id, "old_role": old_role,
                                                            "new_role": new_role, "changed_by": by}, "accounts")

    def deactivated(self, user_id: str, by: str = "admin-1") -> events.Event:
        return self._publish("user.deactivated", user_id, {"user_id": user_id, "changed_by": by}, "accounts")

    def reactivated(self, user_id: str, by: str = "admin-1") -> events.Event:
        return self._publish("user.reactivated", user_id, {"user_id": user_id, "changed_by": by}, "accounts")

    def signal_created(self, owner_id: str, signal_id: str | None = None, symbol: str = "BTC/USDT") -> str:
        signal_id = signal_id or new_id()
        self._publish("trade_signal.created", signal_id, {
            "signal_id": signal_id, "owner_id": owner_id, "symbol": symbol, "direction": "long",
            "timeframe": "4h", "status": "pending"}, "signals")
        return signal_id

    def signal_updated(self, owner_id: str, signal_id: str, old: str, new: str, version: int) -> events.Event:
        return self._publish("trade_signal.updated", signal_id, {
            "signal_id": signal_id, "owner_id": owner_id, "old_status": old, "new_status": new,
            "version": version}, "signals")

    def signal_reviewed(self, owner_id: str, signal_id: str, old: str, new: str, version: int,
                        reason: str | None = None, symbol: str = "BTC/USDT") -> events.Event:
        return self._publish("trade_signal.status_changed", signal_id, {
            "signal_id": signal_id, "owner_id": owner_id, "symbol": symbol, "old_status": old,
            "new_status": new, "reason": reason, "reviewed_by": "admin-1", "version": version}, "signals")

    def signal_deleted(self, owner_id: str, signal_id: str, status: str) -> events.Event:
        return self._publish("trade_signal.deleted", signal_id, {
            "signal_id": signal_id, "owner_id": owner_id, "status": status}, "signals")

    def comment_created(self, author_id: str, *, thread_id: str | None = None, comment_id: str | None = None,
                        signal_id: str | None = None, signal_owner_id: str | None = None,
                        signal_title: str | None = None) -> events.Event:
        """A comment posted; ``signal_*`` given when it is under a signal's thread (else a forum thread)."""
        comment_id = comment_id or new_id()
        return self._publish("discussion.comment_created", comment_id, {
            "comment_id": comment_id, "thread_id": thread_id or new_id(), "author_id": author_id,
            "signal_id": signal_id, "signal_owner_id": signal_owner_id, "signal_title": signal_title,
            "created_at": iso(datetime.now(UTC))}, "discussions")

    def comment_hidden(self, created: events.Event, *, hidden: bool = True, version: int = 1,
                       by: str = "admin-1", reason: str | None = "Off topic") -> events.Event:
        """An administrator hid the comment of ``created`` (``hidden=False``: showed it again)."""
        data = created.data
        return self._publish("discussion.comment_hidden", data["comment_id"], {
            "comment_id": data["comment_id"], "thread_id": data["thread_id"], "author_id": data["author_id"],
            "hidden": hidden, "moderation_version": version, "changed_by": by,
            "reason": reason if hidden else None}, "discussions")

    def comment_deleted(self, created: events.Event) -> events.Event:
        data = created.data
        return self._publish("discussion.comment_deleted", data["comment_id"], {
            "comment_id": data["comment_id"], "thread_id": data["thread_id"], "author_id": data["author_id"]},
            "discussions")

    def thread_deleted(self, thread_id: str, author_id: str, signal_id: str | None = None) -> events.Event:
        return self._publish("discussion.thread_deleted", thread_id, {
            "thread_id": thread_id, "author_id": author_id, "signal_id": signal_id}, "discussions")


def stored_profile(user_id: str) -> dict | None:
    return mongo.database("users")["user_profiles"].find_one({"_id": user_id})


def at(event: events.Event, seconds: float) -> events.Event:
    """The same event as if it had occurred ``seconds`` later (for out-of-order delivery)."""
    moment = datetime.fromisoformat(event.occurred_at) + timedelta(seconds=seconds)
    return events.Event(**{**event.to_dict(), "occurred_at": iso(moment)})
