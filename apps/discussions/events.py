"""Events the discussions app publishes, and those of other apps it consumes (payloads exactly as
docs/events.md). Plain data, no behaviour."""

PRODUCER = "discussions"

THREAD_CREATED = "discussion.thread_created"
THREAD_DELETED = "discussion.thread_deleted"
COMMENT_CREATED = "discussion.comment_created"
COMMENT_HIDDEN = "discussion.comment_hidden"   # hidden or shown again (``hidden`` false)
COMMENT_DELETED = "discussion.comment_deleted"

# Events of other apps this app consumes: the signal projection and the author names.
TRADE_SIGNAL_CREATED = "trade_signal.created"
TRADE_SIGNAL_UPDATED = "trade_signal.updated"
TRADE_SIGNAL_STATUS_CHANGED = "trade_signal.status_changed"
TRADE_SIGNAL_DELETED = "trade_signal.deleted"
USER_REGISTERED = "user.registered"
USER_PROFILE_UPDATED = "user.profile_updated"
USER_DEACTIVATED = "user.deactivated"
USER_REACTIVATED = "user.reactivated"
