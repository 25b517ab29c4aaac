"""Every write and side effect of the accounts slice: identities, sessions, tokens, revocation, audit.

Durable truth lives in MongoDB (users with their ``epoch``, sessions with their current refresh ``jti``);
the ``security`` store holds the fast per-request mirror (revoked jti/family, epoch) that every slice
checks. Writes that publish events run in one transaction with their outbox entries (``events.atomic``).
A user's epoch is bumped in MongoDB first and mirrored afterwards; a mirror lost to a store restart is
rewritten on the user's next login or refresh.

One module per subject — ``passwords``, ``registration`` (and login), ``sessions`` (and tokens),
``administration``, ``audit``, and what they share in ``common`` — re-exported here, so callers keep writing
``from apps.accounts import services; services.session_login(...)``.
"""
from apps.accounts.services.administration import (
    DISPLAY_NAME_MAX_LENGTH,
    user_admin_update,
    user_create_admin,
    user_sync_display_name,
)
from apps.accounts.services.audit import audit_record
from apps.accounts.services.common import NO_CLIENT, Client, normalize_email
from apps.accounts.services.passwords import PASSWORD_MAX_LENGTH, user_password_change
from apps.accounts.services.registration import LOGIN_FAILED_MESSAGE, session_login, user_register
from apps.accounts.services.sessions import (
    TokenStatus,
    session_logout,
    session_logout_refresh,
    session_may_revoke,
    session_refresh,
    session_revoke,
    token_verify,
    user_logout_all,
)

__all__ = [
    "DISPLAY_NAME_MAX_LENGTH",
    "LOGIN_FAILED_MESSAGE",
    "NO_CLIENT",
    "PASSWORD_MAX_LENGTH",
    "Client",
    "TokenStatus",
    "audit_record",
    "normalize_email",
    "session_login",
    "session_logout",
    "session_logout_refresh",
    "session_may_revoke",
    "session_refresh",
    "session_revoke",
    "token_verify",
    "user_admin_update",
    "user_create_admin",
    "user_logout_all",
    "user_password_change",
    "user_register",
    "user_sync_display_name",
]
