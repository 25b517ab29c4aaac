"""Administration: roles and activation (effective on the target's next request), the first administrator,
and the display name kept in step with the profile."""
from __future__ import annotations

from bson import ObjectId
from bson.errors import InvalidId
from pymongo.errors import DuplicateKeyError

from apps.accounts import events as account_events
from apps.accounts import selectors
from apps.accounts.enums import (
    AUDIT_ADMIN_CREATED,
    AUDIT_ROLE_CHANGED,
    AUDIT_USER_DEACTIVATED,
    AUDIT_USER_REACTIVATED,
    ROLE_ADMIN,
    ROLES,
)
from apps.accounts.models import User
from apps.accounts.services.audit import audit_record
from apps.accounts.services.common import (
    NO_CLIENT,
    Client,
    _atomic,
    _sessions,
    _users,
    normalize_email,
)
from apps.accounts.services.registration import _new_user, _publish_registered
from apps.accounts.services.sessions import _bump_epoch, _revoke_sessions
from tradesignals.kernel import events, revocation
from tradesignals.kernel.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    must_be_one_of,
)
from tradesignals.kernel.identity import Principal

DISPLAY_NAME_MAX_LENGTH = 80


def user_admin_update(*, actor: Principal, user_id: str, role: str | None = None, is_active: bool | None = None,
                      client: Client = NO_CLIENT) -> User:
    """Change a user's role and/or active flag. Effective on the target's next request (epoch bump).

    Every call ends by mirroring the durable epoch, even when nothing changed: the change commits in
    MongoDB before the mirror is written, so a call that answered 503 (store down in between) is retried,
    finds nothing to change, and must still write the mirror — a 2xx means it holds on every instance.
    """
    user = selectors.user_get(user_id=user_id)
    if user is None:
        raise NotFound()
    if role is not None and role not in ROLES:
        raise ValidationFailed(details={"role": [must_be_one_of(ROLES)]})
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
