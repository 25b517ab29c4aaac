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
