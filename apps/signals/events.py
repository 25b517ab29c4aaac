"""Events the signals app publishes (payloads exactly as docs/events.md). Plain data, no behaviour."""

CREATED = "trade_signal.created"
UPDATED = "trade_signal.updated"
STATUS_CHANGED = "trade_signal.status_changed"
DELETED = "trade_signal.deleted"
OUTCOME_RECORDED = "trade_signal.outcome_recorded"
CANDLES_RECEIVED = "market.candles_received"

PRODUCER = "signals"

PAYLOAD_FIELDS = {
    CREATED: ("signal_id", "owner_id", "symbol", "direction", "timeframe", "status"),
    UPDATED: ("signal_id", "owner_id", "old_status", "new_status", "version", "symbol", "direction", "timeframe",
              "discarded_image_ids"),
    STATUS_CHANGED: ("signal_id", "owner_id", "symbol", "old_status", "new_status", "reason", "reviewed_by",
                     "version"),
    DELETED: ("signal_id", "owner_id", "status", "discarded_image_ids"),
    # A decided outcome (won, lost, expired): final, published once per signal.
    OUTCOME_RECORDED: ("signal_id", "owner_id", "symbol", "state", "entered_at", "closed_at", "exit_price",
                       "r_multiple", "version"),
    # Stored candles of one symbol (the minutes first..last of one ingest); the evaluation consumes it.
    CANDLES_RECEIVED: ("symbol", "first", "last", "count"),
}

# Events of other apps this app consumes.
USER_PROFILE_UPDATED = "user.profile_updated"
USER_DEACTIVATED = "user.deactivated"
USER_REACTIVATED = "user.reactivated"
