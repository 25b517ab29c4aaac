"""Sessions and tokens: issuing a pair, rotating a refresh token (race vs reuse), verifying, logging out.

A session is one refresh-token family in MongoDB with its current ``jti``; the ``security`` store mirrors what
every request checks (revoked jti and family, the user's epoch).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bson import ObjectId
from django.conf import settings
from pymongo import ReturnDocument

from apps.accounts import selectors
from apps.accounts.enums import (
    AUDIT_LOGOUT,
    AUDIT_LOGOUT_ALL,
    AUDIT_REFRESH_RACE,
    AUDIT_REFRESH_REUSE_DETECTED,
    AUDIT_SESSION_REVOKED,
)
from apps.accounts.models import Session, User
from apps.accounts.services.audit import audit_record
from apps.accounts.services.common import NO_CLIENT, Client, _atomic, _rates, _sessions, _users, _validated
from apps.accounts.tokens import TokenPair, issue_pair, new_id
from tradesignals.kernel import ratelimit, revocation
from tradesignals.kernel import tokens as kernel_tokens
from tradesignals.kernel.clock import utcnow
from tradesignals.kernel.errors import (
    Conflict,
    NotFound,
    TokenInvalid,
)
from tradesignals.kernel.identity import Principal

logger = logging.getLogger(__name__)


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


def _refuse_refresh(message: str = "The refresh token is no longer valid.") -> TokenInvalid:
    return TokenInvalid(message)


def session_refresh(*, refresh_token: str, client: Client = NO_CLIENT) -> TokenPair:
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


def token_verify(*, token: str, client: Client = NO_CLIENT) -> TokenStatus:
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


def session_logout(*, principal: Principal, client: Client = NO_CLIENT) -> None:
    """Revoke this access token and its refresh family."""
    revocation.revoke_token(principal.jti, ttl=_access_ttl(principal))
    if principal.family:
        revocation.revoke_family(principal.family)
        _revoke_sessions({"_id": principal.family, "user_id": principal.user_id}, reason="logout")
    audit_record(type=AUDIT_LOGOUT, client=client, user_id=principal.user_id,
                 details={"session_id": principal.family})


def session_logout_refresh(*, refresh_token: str, client: Client = NO_CLIENT) -> None:
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


def user_logout_all(*, principal: Principal, client: Client = NO_CLIENT) -> None:
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


def session_revoke(*, principal: Principal, session_id: str, client: Client = NO_CLIENT) -> None:
    """End one of the caller's own sessions (``DELETE sessions/{id}``); someone else's is a 404."""
    session = _own_live_session(principal=principal, session_id=session_id)
    if session is None:
        raise NotFound()
    revocation.revoke_family(session.id)
    _revoke_sessions({"_id": session.id}, reason="revoked_by_user")
    audit_record(type=AUDIT_SESSION_REVOKED, client=client, user_id=principal.user_id,
                 details={"session_id": session.id, "current": session.id == principal.family})
