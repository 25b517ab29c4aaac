"""Registration and login: a new account with its first session, and credentials checked into a session."""
from __future__ import annotations

from bson import ObjectId
from django.contrib.auth.hashers import make_password
from pymongo.errors import DuplicateKeyError

from apps.accounts import events as account_events
from apps.accounts import selectors
from apps.accounts.enums import (
    AUDIT_LOGIN_FAILED,
    AUDIT_LOGIN_SUCCEEDED,
    AUDIT_REGISTERED,
    ROLE_USER,
)
from apps.accounts.models import User
from apps.accounts.services.audit import audit_record
from apps.accounts.services.common import (
    NO_CLIENT,
    Client,
    _atomic,
    _rates,
    _users,
    _validated,
    normalize_email,
)
from apps.accounts.services.passwords import _burn_password_check, _password_matches, _validate_password
from apps.accounts.services.sessions import _start_session
from apps.accounts.tokens import TokenPair
from tradesignals.kernel import events, ratelimit, revocation
from tradesignals.kernel.clock import utcnow
from tradesignals.kernel.errors import (
    Conflict,
    NotAuthenticated,
)

LOGIN_FAILED_MESSAGE = "Invalid email or password."


def _new_user(*, user_id: ObjectId, email: str, password: str, display_name: str, role: str) -> tuple[User, dict]:
    """A new active account (password checked and hashed) and its validated document, not yet stored."""
    _validate_password(password, email=email, display_name=display_name)
    now = utcnow()
    user = User(id=user_id, email=email, password=make_password(password), display_name=display_name,
                role=role, is_active=True, epoch=0, created_at=now, updated_at=now)
    return user, _validated(user)


def _publish_registered(user: User) -> None:
    """``user.registered`` for a new account (call inside the transaction that inserts it)."""
    events.publish(account_events.USER_REGISTERED, key=str(user.id), producer=account_events.PRODUCER,
                   data=account_events.user_registered_data(
                       user_id=str(user.id), email=user.email, role=user.role, display_name=user.display_name,
                       created_at=user.created_at))


def user_register(*, email: str, password: str, display_name: str | None = None,
                  client: Client = NO_CLIENT) -> tuple[User, TokenPair]:
    """Create a ``user`` account and its first session; publishes ``user.registered``."""
    ratelimit.hit(None, group="accounts:register:ip", key=ratelimit.ip_bucket(client.ip),
                   rate=_rates()["register_ip"])
    email = normalize_email(email)
    user_id = ObjectId()
    display_name = (display_name or "").strip() or f"trader-{str(user_id)[-6:]}"
    user, document = _new_user(user_id=user_id, email=email, password=password, display_name=display_name,
                               role=ROLE_USER)
    try:
        with _atomic() as tx:
            _users().insert_one(document, session=tx)
            pair = _start_session(user, client=client, tx=tx)
            audit_record(type=AUDIT_REGISTERED, client=client, user_id=str(user_id), email=email, session=tx)
            _publish_registered(user)
    except DuplicateKeyError:
        raise Conflict("An account with this email already exists.",
                       details={"email": ["An account with this email already exists."]}) from None
    return user, pair


def session_login(*, email: str, password: str, client: Client = NO_CLIENT) -> tuple[User, TokenPair]:
    """Check credentials and start a session. Every failure is the same 401 at the same hashing cost."""
    email = normalize_email(email)
    rates = _rates()
    ratelimit.hit(None, group="accounts:login:ip", key=ratelimit.ip_bucket(client.ip), rate=rates["login_ip"])
    account_key = email[:254]
    ratelimit.check(None, group="accounts:login:account", key=account_key, rate=rates["login_account"])
    ratelimit.check(None, group="accounts:login:burst", key=account_key, rate=rates["login_burst"])

    user = selectors.user_get_by_email(email=email)
    if user is None or not user.is_active:
        _burn_password_check(password)  # the same Argon2 work as a real check: no timing oracle
        ok, reason = False, "unknown_email" if user is None else "inactive"
    else:
        ok, reason = _password_matches(user, password), "wrong_password"
    if not ok:
        ratelimit.hit(None, group="accounts:login:account", key=account_key, rate=rates["login_account"])
        ratelimit.hit(None, group="accounts:login:burst", key=account_key, rate=rates["login_burst"])
        audit_record(type=AUDIT_LOGIN_FAILED, client=client, user_id=str(user.id) if user else None, email=email,
                     details={"reason": reason})
        raise NotAuthenticated(LOGIN_FAILED_MESSAGE)

    with _atomic() as tx:
        pair = _start_session(user, client=client, tx=tx)
        audit_record(type=AUDIT_LOGIN_SUCCEEDED, client=client, user_id=str(user.id), email=email,
                     details={"session_id": pair.family}, session=tx)
    # Outside the transaction: concurrent logins of one account would otherwise conflict on the user
    # document (WriteConflict); the last-login time is informational, its last writer may win.
    _users().update_one({"_id": user.id}, {"$set": {"last_login_at": utcnow()}})
    revocation.raise_epoch(str(user.id), user.epoch)  # re-mirror in case the store lost it
    return user, pair
