"""The discussions app's fixed limits and names (the numbers the API documents and the services enforce)."""

TITLE_MIN, TITLE_MAX = 3, 200
THREAD_BODY_MIN, THREAD_BODY_MAX = 10, 5000
COMMENT_BODY_MIN, COMMENT_BODY_MAX = 1, 2000
REASON_MIN, REASON_MAX = 1, 500

# What every representation calls the author of a deactivated user's content.
DEACTIVATED_NAME = "deactivated user"

# A signal's projected status; only an approved signal (of an active owner) has an open thread.
APPROVED = "approved"
STATUSES = ("pending", "approved", "rejected")

REPORT_OPEN, REPORT_HIDDEN, REPORT_DISMISSED = "open", "hidden", "dismissed"
REPORT_STATES = (REPORT_OPEN, REPORT_HIDDEN, REPORT_DISMISSED)
