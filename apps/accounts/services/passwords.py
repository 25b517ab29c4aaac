"""Passwords: the policy (length and Django's validators, similarity to the email and name), checking at the
same hashing cost whether or not the account exists, and changing one (which ends the other sessions)."""
from __future__ import annotations

import secrets
import threading

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError

from apps.accounts import selectors
from apps.accounts.enums import (
    AUDIT_PASSWORD_CHANGE_FAILED,
    AUDIT_PASSWORD_CHANGED,
)
from apps.accounts.models import User
from apps.accounts.services.audit import audit_record
from apps.accounts.services.common import NO_CLIENT, Client, _atomic, _rates, _sessions, _users
from apps.accounts.services.sessions import _bump_epoch, _revoke_sessions
from tradesignals.kernel import ratelimit, revocation
from tradesignals.kernel.errors import (
    NotFound,
    ValidationFailed,
)
from tradesignals.kernel.identity import Principal

PASSWORD_MAX_LENGTH = 256

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


def _validate_password(password: str, *, email: str, display_name: str | None, field: str = "password") -> None:
    if len(password or "") > PASSWORD_MAX_LENGTH:  # the minimum (12) is one of Django's validators
        raise ValidationFailed(details={field: [f"The password must be at most {PASSWORD_MAX_LENGTH} characters."]})
    try:
        password_validation.validate_password(password, user=_Subject(email, display_name))
    except DjangoValidationError as error:
        raise ValidationFailed(details={field: list(error.messages)}) from None


def user_password_change(*, principal: Principal, current_password: str, new_password: str,
                         client: Client = NO_CLIENT) -> None:
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
