"""Closed vocabularies of the trade-signal domain."""

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
STATUSES = (PENDING, APPROVED, REJECTED)
REVIEW_STATUSES = (APPROVED, REJECTED)

LONG, SHORT = "long", "short"
DIRECTIONS = (LONG, SHORT)

TIMEFRAMES = ("1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w")

# Allowed review transitions (issue 4 §3); anything else is the same status again → 409.
TRANSITIONS = {
    (PENDING, APPROVED),
    (PENDING, REJECTED),
    (APPROVED, REJECTED),
    (REJECTED, APPROVED),
}

SYMBOL_PATTERN = r"^[A-Z0-9]{1,15}(/[A-Z0-9]{1,15})?$"
PRICE_MAX_PLACES = 8
PRICE_MAX_DIGITS = 18
RATIONALE_MAX = 5000
REASON_MAX = 500
IMAGE_URL_MAX = 2048

# Outcomes (issue 22): where an approved signal stands against market data. ``pending`` until it is approved
# (and again after an edit), then ``waiting_entry`` → ``open`` → one of the final states.
OUTCOME_PENDING, WAITING_ENTRY, OPEN = "pending", "waiting_entry", "open"
WON, LOST, EXPIRED = "won", "lost", "expired"
OUTCOME_STATES = (OUTCOME_PENDING, WAITING_ENTRY, OPEN, WON, LOST, EXPIRED)
OUTCOME_LIVE = (WAITING_ENTRY, OPEN)        # what a candle can still change
OUTCOME_FINAL = (WON, LOST, EXPIRED)        # decided: never changes again

# One candle per minute; a timeframe is this many minutes (the expiry window is SIGNAL_EXPIRY_CANDLES of them).
TIMEFRAME_MINUTES = {"1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "4h": 240, "1d": 1440, "1w": 10080}
CANDLES_PER_REQUEST = 1000
