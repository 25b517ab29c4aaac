"""Every write and side effect of the accounts slice: identities, sessions, tokens, revocation, audit.

Durable truth lives in MongoDB (users with their ``epoch``, sessions with their current refresh ``jti``);
the ``security`` store holds the fast per-request mirror (revoked jti/family, epoch) that every slice
checks. Writes that publish events run in one transaction with their outbox entries (``events.atomic``).
A user's epoch is bumped in MongoDB first and mirrored afterwards; a mirror lost to a store restart is
rewritten on the user's next login or refresh.
"""
from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bson import ObjectId
from bson.errors import InvalidId
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from apps.accounts import events as account_events
from apps.accounts import selectors
from apps.accounts.enums import (
    AUDIT_ADMIN_CREATED,
    AUDIT_LOGIN_FAILED,
    AUDIT_LOGIN_SUCCEEDED,
    AUDIT_LOGOUT,
    AUDIT_LOGOUT_ALL,
    AUDIT_PASSWORD_CHANGE_FAILED,
    AUDIT_PASSWORD_CHANGED,
    AUDIT_REFRESH_RACE,
    AUDIT_REFRESH_REUSE_DETECTED,
    AUDIT_REGISTERED,
    AUDIT_ROLE_CHANGED,
    AUDIT_SESSION_REVOKED,
    AUDIT_USER_DEACTIVATED,
    AUDIT_USER_REACTIVATED,
    ROLE_ADMIN,
    ROLE_USER,
    ROLES,
)
from apps.accounts.models import AuditEntry, Session, User
from apps.accounts.tokens import TokenPair, issue_pair, new_id
from tradesignals.kernel import events, ratelimit, revocation
from tradesignals.kernel import tokens as kernel_tokens
from tradesignals.kernel.clock import utcnow
from tradesignals.kernel.context import current_request_id
from tradesignals.kernel.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    TokenInvalid,
    ValidationFailed,
)
from tradesignals.kernel.identity import Principal

logger = logging.getLogger(__name__)

PASSWORD_MAX_LENGTH = 256
DISPLAY_NAME_MAX_LENGTH = 80
LOGIN_FAILED_MESSAGE = "Invalid email or password."


@dataclass(frozen=True)
class Client:
    """Where a request came from, as recorded on sessions and audit entries."""

    ip: str = ""
    user_agent: str = ""

    def trimmed(self) -> Client:
        return Client(ip=(self.ip or "")[:64], user_agent=(self.user_agent or "")[:256])


# --- small helpers ------------------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def _users():
    return User._get_collection()


def _sessions():
    return Session._get_collection()


def _atomic():
    """``events.atomic("accounts")`` with our collections and indexes created first.

    mongoengine creates a collection's indexes on its first use; doing that inside a transaction
    conflicts with the transaction's own writes, so it happens (once per process) before it starts.
    """
    for model in (User, Session, AuditEntry):
        model._get_collection()
    return events.atomic("accounts")


def _validated(doc):
    doc.validate()
    return doc.to_mongo().to_dict()


def audit_record(*, type: str, client: Client | None = None, user_id: str | None = None,  # noqa: A002
                 actor_id: str | None = None, email: str | None = None, details: dict | None = None,
                 session=None) -> None:
    """Append one security audit entry (inside the caller's transaction when ``session`` is given)."""
    client = (client or Client()).trimmed()
    entry = AuditEntry(
        id=ObjectId(), type=type, at=utcnow(), user_id=user_id, actor_id=actor_id, email=email,
        ip=client.ip or None, user_agent=client.user_agent or None, request_id=current_request_id(),
        details=details or {},
    )
    AuditEntry._get_collection().insert_one(_validated(entry), session=session)


def _rates() -> dict[str, str]:
    return {
        "login_ip": ratelimit.rate(settings.AUTH_RATE_LIMIT_MAX, settings.RATE_LIMIT_WINDOW_MS // 1000),
        "login_account": ratelimit.rate(settings.LOGIN_ACCOUNT_FAILURE_MAX, settings.LOGIN_ACCOUNT_FAILURE_WINDOW),
        "login_burst": ratelimit.rate(settings.LOGIN_ACCOUNT_BURST_MAX, settings.LOGIN_ACCOUNT_BURST_WINDOW),
        "register_ip": ratelimit.rate(settings.REGISTER_RATE_LIMIT_MAX, settings.REGISTER_RATE_LIMIT_WINDOW),
        "refresh_family": ratelimit.rate(settings.REFRESH_RATE_LIMIT_MAX, settings.REFRESH_RATE_LIMIT_WINDOW),
        "verify_ip": ratelimit.rate(settings.AUTH_RATE_LIMIT_MAX, settings.RATE_LIMIT_WINDOW_MS // 1000),
    }


# --- passwords ------------------------------------------------------------------------------------------

_dummy_lock = threading.Lock()
_dummy_hashes: dict[str, str] = {}


def _dummy_hash() -> str:
    """A hash made with the current hasher, so a login for an unknown email costs what a real one costs."""
    algorithm = settings.PASSWORD_HASHERS[0]
    with _dummy_lock:
        if algorithm not in _dummy_hashes:
            _dummy_hashes[algorithm] = make_password(secrets.token_urlsafe(32))
        return _dummy_hashes[algorithm]


def _password_matches(user: User, raw: str) -> bool:
    def upgrade(raw_password: str) -> None:  # parameters changed since this hash was made
        _users().update_one({"_id": user.id}, {"$set": {"password": make_password(raw_password)}})

    return check_password(raw, user.password, setter=upgrade)


def _burn_password_check(raw: str) -> None:
    check_password(raw or "", _dummy_hash())


class _SubjectMeta:
    _names = {"email": "email address", "display_name": "display name"}

    def get_field(self, name: str):
        if name not in self._names:
            raise FieldDoesNotExist(name)
        return type("Field", (), {"verbose_name": self._names[name]})


class _Subject:
    """What the similarity validator compares a password with (it expects a model-like object)."""

    _meta = _SubjectMeta()

    def __init__(self, email: str, display_name: str | None):
        self.email = email
        self.display_name = display_name or ""


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


def _validate_password(password: str, *, email: str, display_name: str | None, field: str = "password") -> None:
    if len(password or "") > PASSWORD_MAX_LENGTH:  # the minimum (12) is one of Django's validators
        raise ValidationFailed(details={field: [f"The password must be at most {PASSWORD_MAX_LENGTH} characters."]})
    try:
        password_validation.validate_password(password, user=_Subject(email, display_name))
    except DjangoValidationError as error:
        raise ValidationFailed(details={field: list(error.messages)}) from None


# --- sessions and tokens ----------------------------------------------------------------------------


def _new_session(*, user_id: str, epoch: int, family: str, refresh_jti: str, client: Client) -> dict:
    now = utcnow()
    client = client.trimmed()
    return _validated(Session(
        id=family, user_id=user_id, current_jti=refresh_jti, epoch=epoch, user_agent=client.user_agent,
        ip=client.ip, created_at=now, last_used_at=now,
        expires_at=now + timedelta(seconds=settings.JWT_REFRESH_EXPIRY),
    ))


def _issue(user: User | dict, *, family: str, refresh_jti: str) -> TokenPair:
    if isinstance(user, dict):
        return issue_pair(user_id=str(user["_id"]), role=user["role"], name=user["display_name"], family=family,
                          version=user["epoch"], refresh_jti=refresh_jti)
    return issue_pair(user_id=str(user.id), role=user.role, name=user.display_name, family=family,
                      version=user.epoch, refresh_jti=refresh_jti)


def _start_session(user: User, *, client: Client, tx) -> TokenPair:
    family, refresh_jti = new_id(), new_id()
    _sessions().insert_one(
        _new_session(user_id=str(user.id), epoch=user.epoch, family=family, refresh_jti=refresh_jti, client=client),
        session=tx,
    )
    return _issue(user, family=family, refresh_jti=refresh_jti)


def _revoke_sessions(query: dict, *, reason: str, tx=None) -> list[str]:
    """Mark matching live sessions revoked in MongoDB; returns their ids."""
    query = {**query, "revoked_at": None}
    ids = [doc["_id"] for doc in _sessions().find(query, {"_id": 1}, session=tx)]
    if ids:
        _sessions().update_many({"_id": {"$in": ids}, "revoked_at": None},
                                {"$set": {"revoked_at": utcnow(), "revoked_reason": reason}}, session=tx)
    return ids


def _bump_epoch(user_id: ObjectId, *, tx, extra_set: dict | None = None, expect: dict | None = None) -> dict | None:
    """Increment the durable epoch (and apply ``extra_set``) atomically; ``None`` if ``expect`` no longer holds."""
    update = {"$inc": {"epoch": 1}, "$set": {"updated_at": utcnow(), **(extra_set or {})}}
    return _users().find_one_and_update({"_id": user_id, **(expect or {})}, update, session=tx,
                                        return_document=ReturnDocument.AFTER)


def _access_ttl(principal: Principal) -> int:
    return max(1, principal.expires_at - int(time.time()) + settings.JWT_LEEWAY_SECONDS)


# --- register, login, refresh ---------------------------------------------------------------------------


def user_register(*, email: str, password: str, display_name: str | None = None,
                  client: Client = Client()) -> tuple[User, TokenPair]:  # noqa: B008
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


def session_login(*, email: str, password: str, client: Client = Client()) -> tuple[User, TokenPair]:  # noqa: B008
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


def _refuse_refresh(message: str = "The refresh token is no longer valid.") -> TokenInvalid:
    return TokenInvalid(message)


def session_refresh(*, refresh_token: str, client: Client = Client()) -> TokenPair:  # noqa: B008
    """Rotate a refresh token. A token that is not the family's current one revokes the whole family,
    except the one rotated away within the last ``JWT_REFRESH_REUSE_GRACE`` seconds: that is a concurrent
    use (two tabs, a retry after a timeout), answered 409 while the winner's new pair keeps working.
    """
    claims = kernel_tokens.verify(refresh_token, expected_type=kernel_tokens.REFRESH)
    family, jti, user_id = claims.get("fam"), claims["jti"], str(claims["sub"])
    if not family:
        raise _refuse_refresh()
    ratelimit.hit(None, group="accounts:refresh:family", key=str(family), rate=_rates()["refresh_family"])
    session = selectors.session_get(session_id=str(family))
    now = utcnow()
    if session is None or session.user_id != user_id or session.revoked_at is not None or session.expires_at <= now:
        raise _refuse_refresh()
    if session.current_jti != jti:
        _not_current(session, jti=jti, now=now, client=client)
    user = selectors.user_get(user_id=user_id)
    if user is None or not user.is_active or session.epoch < user.epoch:
        raise _refuse_refresh()
    if revocation.is_family_revoked(session.id):
        raise _refuse_refresh()

    new_jti = new_id()
    client = client.trimmed()
    # One conditional write rotates and remembers what it rotated away, so a concurrent use of ``jti``
    # (this very update's loser included) is recognised as a race, not reuse.
    result = _sessions().update_one(
        {"_id": session.id, "current_jti": jti, "revoked_at": None, "epoch": {"$gte": user.epoch}},
        {"$set": {"current_jti": new_jti, "previous_jti": jti, "rotated_at": now, "last_used_at": now,
                  "ip": client.ip, "user_agent": client.user_agent,
                  "expires_at": now + timedelta(seconds=settings.JWT_REFRESH_EXPIRY)}},
    )
    if result.modified_count != 1:
        current = selectors.session_get(session_id=session.id)
        if current is not None and current.revoked_at is None and current.current_jti != jti:
            _not_current(current, jti=jti, now=utcnow(), client=client)  # lost a race with another use
        raise _refuse_refresh()
    revocation.raise_epoch(user_id, user.epoch)
    return _issue(user, family=session.id, refresh_jti=new_jti)


def _within_grace(session: Session, *, jti: str, now: datetime) -> bool:
    """``jti`` is the token this session's last rotation replaced, and that rotation was moments ago."""
    grace = settings.JWT_REFRESH_REUSE_GRACE
    return (grace > 0 and session.previous_jti == jti and session.rotated_at is not None
            and now - session.rotated_at <= timedelta(seconds=grace))


def _not_current(session: Session, *, jti: str, now: datetime, client: Client) -> None:
    """A live session was presented a token that is not its current one: a race (409) or reuse (revoke)."""
    if not _within_grace(session, jti=jti, now=now):
        _reuse_detected(session, client=client)
    audit_record(type=AUDIT_REFRESH_RACE, client=client, user_id=session.user_id,
                 details={"session_id": session.id})
    raise Conflict("The refresh token was just rotated by a concurrent request; use the newer token pair that "
                   "request received, then retry.")


def _reuse_detected(session: Session, *, client: Client) -> None:
    """An already-rotated refresh token came back: someone holds a copy. End the family, record it, refuse."""
    revocation.revoke_family(session.id)
    _revoke_sessions({"_id": session.id}, reason="reuse_detected")
    audit_record(type=AUDIT_REFRESH_REUSE_DETECTED, client=client, user_id=session.user_id,
                 details={"session_id": session.id})
    logger.warning("refresh token reuse detected", extra={"session_id": session.id, "user_id": session.user_id})
    raise _refuse_refresh("The refresh token was already used; the session has been revoked.")


@dataclass(frozen=True)
class TokenStatus:
    """What ``POST auth/verify`` says of a good token: nothing its holder cannot already read in it."""

    token_type: str
    expires_at: datetime


def token_verify(*, token: str, client: Client = Client()) -> TokenStatus:  # noqa: B008
    """Would the product accept ``token`` now? An access token: signature, claims, expiry and the same
    revocation check every authenticated request makes. A refresh token: what ``refresh`` would accept — its
    session live and not revoked, this token the session's current one (a rotated-away token is refused),
    the user active and the session not older than the user's epoch. Read-only: unlike ``refresh``, an old
    token here rotates nothing and revokes nothing (it is refused, and reuse detection stays refresh's).
    """
    ratelimit.hit(None, group="accounts:verify:ip", key=ratelimit.ip_bucket(client.ip), rate=_rates()["verify_ip"])
    claims = kernel_tokens.verify_any(token)
    if claims["token_type"] == kernel_tokens.ACCESS:
        revocation.check(Principal.from_claims(claims))
    elif not _refresh_is_current(claims):
        raise _refuse_refresh()
    return TokenStatus(token_type=claims["token_type"], expires_at=datetime.fromtimestamp(claims["exp"], UTC))


def _refresh_is_current(claims: dict) -> bool:
    """The checks ``session_refresh`` makes before rotating, without its side effects."""
    family, user_id = claims.get("fam"), str(claims["sub"])
    if not family:
        return False
    session = selectors.session_get(session_id=str(family))
    if session is None or session.user_id != user_id or session.revoked_at is not None \
            or session.expires_at <= utcnow() or session.current_jti != claims["jti"]:
        return False
    user = selectors.user_get(user_id=user_id)
    if user is None or not user.is_active or session.epoch < user.epoch:
        return False
    return not revocation.is_family_revoked(session.id)


# --- logout, sessions, password -------------------------------------------------------------------------


def session_logout(*, principal: Principal, client: Client = Client()) -> None:  # noqa: B008
    """Revoke this access token and its refresh family."""
    revocation.revoke_token(principal.jti, ttl=_access_ttl(principal))
    if principal.family:
        revocation.revoke_family(principal.family)
        _revoke_sessions({"_id": principal.family, "user_id": principal.user_id}, reason="logout")
    audit_record(type=AUDIT_LOGOUT, client=client, user_id=principal.user_id,
                 details={"session_id": principal.family})


def session_logout_refresh(*, refresh_token: str, client: Client = Client()) -> None:  # noqa: B008
    """Browser logout with only a refresh cookie left: end that family if the token is genuine."""
    try:
        claims = kernel_tokens.verify(refresh_token, expected_type=kernel_tokens.REFRESH)
    except TokenInvalid:
        return
    family = claims.get("fam")
    if family:
        revocation.revoke_family(str(family))
        _revoke_sessions({"_id": str(family), "user_id": str(claims["sub"])}, reason="logout")
        audit_record(type=AUDIT_LOGOUT, client=client, user_id=str(claims["sub"]), details={"session_id": family})


def user_logout_all(*, principal: Principal, client: Client = Client()) -> None:  # noqa: B008
    """End every session of the caller: bump the epoch so every older token fails everywhere."""
    with _atomic() as tx:
        updated = _bump_epoch(ObjectId(principal.user_id), tx=tx)
        if updated is None:
            raise NotFound()
        ids = _revoke_sessions({"user_id": principal.user_id}, reason="logout_all", tx=tx)
        audit_record(type=AUDIT_LOGOUT_ALL, client=client, user_id=principal.user_id,
                     details={"sessions": len(ids)}, session=tx)
    revocation.raise_epoch(principal.user_id, updated["epoch"])


def _own_live_session(*, principal: Principal, session_id: str):
    """The caller's own session if it is still live, else ``None`` (someone else's is never distinguished)."""
    session = selectors.session_get(session_id=session_id)
    if session is None or session.user_id != principal.user_id or session.revoked_at is not None \
            or session.expires_at <= utcnow():
        return None
    return session


def session_may_revoke(*, principal: Principal, session_id: str) -> bool:
    """Whether ``session_revoke`` would end this session for the caller (the browsable API's DELETE button)."""
    return _own_live_session(principal=principal, session_id=session_id) is not None


def session_revoke(*, principal: Principal, session_id: str, client: Client = Client()) -> None:  # noqa: B008
    """End one of the caller's own sessions (``DELETE sessions/{id}``); someone else's is a 404."""
    session = _own_live_session(principal=principal, session_id=session_id)
    if session is None:
        raise NotFound()
    revocation.revoke_family(session.id)
    _revoke_sessions({"_id": session.id}, reason="revoked_by_user")
    audit_record(type=AUDIT_SESSION_REVOKED, client=client, user_id=principal.user_id,
                 details={"session_id": session.id, "current": session.id == principal.family})


def user_password_change(*, principal: Principal, current_password: str, new_password: str,
                         client: Client = Client()) -> None:  # noqa: B008
    """Change the password; every other session is revoked, this one may refresh into the new epoch.

    The epoch bump makes every older access token (this one included) fail on its next request; the
    caller's own refresh token stays valid, so a client renews and carries on.
    """
    rates = _rates()
    key = f"user:{principal.user_id}"
    ratelimit.check(None, group="accounts:password:user", key=key, rate=rates["login_burst"])
    user = selectors.user_get(user_id=principal.user_id)
    if user is None or not user.is_active:
        raise NotFound()
    if not _password_matches(user, current_password or ""):
        ratelimit.hit(None, group="accounts:password:user", key=key, rate=rates["login_burst"])
        audit_record(type=AUDIT_PASSWORD_CHANGE_FAILED, client=client, user_id=principal.user_id)
        raise ValidationFailed(details={"current_password": ["The current password is incorrect."]})
    if new_password == current_password:
        raise ValidationFailed(details={"new_password": ["The new password must differ from the current one."]})
    _validate_password(new_password, email=user.email, display_name=user.display_name, field="new_password")
    hashed = make_password(new_password)
    with _atomic() as tx:
        updated = _bump_epoch(user.id, tx=tx, extra_set={"password": hashed})
        others = {"user_id": principal.user_id}
        if principal.family:
            others["_id"] = {"$ne": principal.family}
            _sessions().update_one({"_id": principal.family, "revoked_at": None},
                                   {"$set": {"epoch": updated["epoch"]}}, session=tx)
        ids = _revoke_sessions(others, reason="password_changed", tx=tx)
        audit_record(type=AUDIT_PASSWORD_CHANGED, client=client, user_id=principal.user_id,
                     details={"sessions_revoked": len(ids)}, session=tx)
    revocation.raise_epoch(principal.user_id, updated["epoch"])


# --- administration -------------------------------------------------------------------------------------


def user_admin_update(*, actor: Principal, user_id: str, role: str | None = None, is_active: bool | None = None,
                      client: Client = Client()) -> User:  # noqa: B008
    """Change a user's role and/or active flag. Effective on the target's next request (epoch bump).

    Every call ends by mirroring the durable epoch, even when nothing changed: the change commits in
    MongoDB before the mirror is written, so a call that answered 503 (store down in between) is retried,
    finds nothing to change, and must still write the mirror — a 2xx means it holds on every instance.
    """
    user = selectors.user_get(user_id=user_id)
    if user is None:
        raise NotFound()
    if role is not None and role not in ROLES:
        raise ValidationFailed(details={"role": [f"Must be one of: {', '.join(ROLES)}."]})
    role_changed = role is not None and role != user.role
    activity_changed = is_active is not None and is_active != user.is_active
    if not (role_changed or activity_changed):
        revocation.raise_epoch(user_id, user.epoch)  # idempotent: completes an earlier attempt's mirror
        return user
    if str(user.id) == actor.user_id:
        raise PermissionDenied("Administrators cannot change their own role or active state.")

    expect = {"role": user.role, "is_active": user.is_active}
    changes = {}
    if role_changed:
        changes["role"] = role
    if activity_changed:
        changes["is_active"] = is_active
    with _atomic() as tx:
        updated = _bump_epoch(user.id, tx=tx, extra_set=changes, expect=expect)
        if updated is None:
            raise Conflict("The user was changed concurrently; reload and retry.")
        if activity_changed and not is_active:
            _revoke_sessions({"user_id": user_id}, reason="deactivated", tx=tx)
        else:
            # Live sessions may mint tokens for the new epoch: the next refresh carries the new role.
            _sessions().update_many({"user_id": user_id, "revoked_at": None}, {"$set": {"epoch": updated["epoch"]}},
                                    session=tx)
        if role_changed:
            audit_record(type=AUDIT_ROLE_CHANGED, client=client, user_id=user_id, actor_id=actor.user_id,
                         details={"old_role": user.role, "new_role": role}, session=tx)
            events.publish(account_events.USER_ROLE_CHANGED, key=user_id, producer=account_events.PRODUCER,
                           data=account_events.user_role_changed_data(
                               user_id=user_id, old_role=user.role, new_role=role, changed_by=actor.user_id))
        if activity_changed:
            audit_type = AUDIT_USER_REACTIVATED if is_active else AUDIT_USER_DEACTIVATED
            event_type = account_events.USER_REACTIVATED if is_active else account_events.USER_DEACTIVATED
            audit_record(type=audit_type, client=client, user_id=user_id, actor_id=actor.user_id, session=tx)
            events.publish(event_type, key=user_id, producer=account_events.PRODUCER,
                           data=account_events.user_activity_changed_data(user_id=user_id, changed_by=actor.user_id))
    revocation.raise_epoch(user_id, updated["epoch"])
    return User._from_son(updated)


def user_create_admin(*, email: str, password: str | None = None) -> tuple[User, bool]:
    """``createadmin``: create the first administrator, or promote an existing account. Returns (user, created).

    Like ``user_admin_update``, an account that is already an administrator still gets its epoch mirrored,
    so rerunning a promotion that failed after its commit completes it.
    """
    email = normalize_email(email)
    existing = selectors.user_get_by_email(email=email)
    if existing is not None:
        if existing.role == ROLE_ADMIN:
            revocation.raise_epoch(str(existing.id), existing.epoch)
            return existing, False
        with _atomic() as tx:
            updated = _bump_epoch(existing.id, tx=tx, extra_set={"role": ROLE_ADMIN}, expect={"role": existing.role})
            if updated is None:
                raise Conflict("The user was changed concurrently; retry.")
            _sessions().update_many({"user_id": str(existing.id), "revoked_at": None},
                                    {"$set": {"epoch": updated["epoch"]}}, session=tx)
            audit_record(type=AUDIT_ROLE_CHANGED, user_id=str(existing.id), email=email,
                         details={"old_role": existing.role, "new_role": ROLE_ADMIN, "via": "createadmin"}, session=tx)
            events.publish(account_events.USER_ROLE_CHANGED, key=str(existing.id), producer=account_events.PRODUCER,
                           data=account_events.user_role_changed_data(
                               user_id=str(existing.id), old_role=existing.role, new_role=ROLE_ADMIN, changed_by=None))
        revocation.raise_epoch(str(existing.id), updated["epoch"])
        return User._from_son(updated), False

    if not password:
        raise ValidationFailed(details={"password": ["A password is required to create a new account."]})
    user_id = ObjectId()
    user, document = _new_user(user_id=user_id, email=email, password=password, display_name="Administrator",
                               role=ROLE_ADMIN)
    try:
        with _atomic() as tx:
            _users().insert_one(document, session=tx)
            audit_record(type=AUDIT_ADMIN_CREATED, user_id=str(user_id), email=email, details={"via": "createadmin"},
                         session=tx)
            _publish_registered(user)
    except DuplicateKeyError:
        raise Conflict("An account with this email already exists.") from None
    return user, True


def user_sync_display_name(*, user_id: str, display_name: str) -> None:
    """Keep the ``name`` claim in step with the profile (fed by ``user.profile_updated``)."""
    try:
        oid = ObjectId(user_id)
    except (InvalidId, TypeError):  # not one of our ids: nothing to sync
        return
    name = (display_name or "").strip()[:DISPLAY_NAME_MAX_LENGTH]
    if name:
        _users().update_one({"_id": oid}, {"$set": {"display_name": name}})
