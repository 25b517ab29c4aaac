"""Plain constants of the accounts slice (roles, audit event types)."""
from tradesignals.kernel.identity import ROLE_ADMIN, ROLE_USER, ROLES

__all__ = ["ROLE_ADMIN", "ROLE_USER", "ROLES", "AUDIT_TYPES"]

AUDIT_REGISTERED = "registered"
AUDIT_LOGIN_SUCCEEDED = "login_succeeded"
AUDIT_LOGIN_FAILED = "login_failed"
AUDIT_REFRESH_REUSE_DETECTED = "refresh_reuse_detected"
AUDIT_REFRESH_RACE = "refresh_race"  # the token just rotated came back within the grace: not theft
AUDIT_LOGOUT = "logout"
AUDIT_LOGOUT_ALL = "logout_all"
AUDIT_SESSION_REVOKED = "session_revoked"
AUDIT_PASSWORD_CHANGED = "password_changed"
AUDIT_PASSWORD_CHANGE_FAILED = "password_change_failed"
AUDIT_ROLE_CHANGED = "role_changed"
AUDIT_USER_DEACTIVATED = "user_deactivated"
AUDIT_USER_REACTIVATED = "user_reactivated"
AUDIT_ADMIN_CREATED = "admin_created"

AUDIT_TYPES = (
    AUDIT_REGISTERED,
    AUDIT_LOGIN_SUCCEEDED,
    AUDIT_LOGIN_FAILED,
    AUDIT_REFRESH_REUSE_DETECTED,
    AUDIT_REFRESH_RACE,
    AUDIT_LOGOUT,
    AUDIT_LOGOUT_ALL,
    AUDIT_SESSION_REVOKED,
    AUDIT_PASSWORD_CHANGED,
    AUDIT_PASSWORD_CHANGE_FAILED,
    AUDIT_ROLE_CHANGED,
    AUDIT_USER_DEACTIVATED,
    AUDIT_USER_REACTIVATED,
    AUDIT_ADMIN_CREATED,
)
