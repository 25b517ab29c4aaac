"""Accounts documents: users, refresh sessions (token families) and the security audit log.

Only field-level validation lives here; rules that span documents live in services.
"""
from __future__ import annotations

import mongoengine as me

from apps.accounts.enums import AUDIT_TYPES, ROLE_USER, ROLES


class User(me.Document):
    """An identity. ``epoch`` is the durable token version: every token carries ``ver`` ≥ the epoch at issue."""

    email = me.EmailField(required=True, max_length=254)
    password = me.StringField(required=True, max_length=512)
    display_name = me.StringField(required=True, min_length=1, max_length=80)
    role = me.StringField(required=True, choices=ROLES, default=ROLE_USER)
    is_active = me.BooleanField(required=True, default=True)
    epoch = me.IntField(required=True, min_value=0, default=0)
    created_at = me.DateTimeField(required=True)
    updated_at = me.DateTimeField(required=True)
    last_login_at = me.DateTimeField(null=True)

    meta = {
        "db_alias": "accounts",
        "collection": "accounts_users",
        "indexes": [{"fields": ["email"], "unique": True}],
    }


class Session(me.Document):
    """A refresh-token family: one login on one device. ``id`` is the family id (``fam`` claim).

    ``current_jti`` is the only refresh token of the family that may be exchanged; ``epoch`` is the user
    epoch this family may still mint tokens for (refresh fails once the user's epoch moves past it).
    ``previous_jti`` and ``rotated_at`` (written by the rotation itself) tell a concurrent second use of the
    token just rotated (a race, answered 409) from the reuse of an older one (theft: the family is revoked).
    """

    id = me.StringField(primary_key=True, max_length=64)
    user_id = me.StringField(required=True, max_length=64)
    current_jti = me.StringField(required=True, max_length=64)
    previous_jti = me.StringField(null=True, max_length=64)
    rotated_at = me.DateTimeField(null=True)
    epoch = me.IntField(required=True, min_value=0)
    user_agent = me.StringField(max_length=256, default="")
    ip = me.StringField(max_length=64, default="")
    created_at = me.DateTimeField(required=True)
    last_used_at = me.DateTimeField(required=True)
    expires_at = me.DateTimeField(required=True)
    revoked_at = me.DateTimeField(null=True)
    revoked_reason = me.StringField(null=True, max_length=64)

    meta = {
        "db_alias": "accounts",
        "collection": "accounts_sessions",
        "indexes": [
            {"fields": ["user_id", "-created_at", "-id"]},  # a user's sessions, newest first (keyset order)
            # MongoDB removes a family once its last refresh token can no longer be used.
            {"fields": ["expires_at"], "expireAfterSeconds": 0},
        ],
    }


class AuditEntry(me.Document):
    """One security-relevant event. Append-only: nothing in the product updates or deletes entries."""

    type = me.StringField(required=True, choices=AUDIT_TYPES)
    at = me.DateTimeField(required=True)
    user_id = me.StringField(null=True, max_length=64)
    actor_id = me.StringField(null=True, max_length=64)
    email = me.StringField(null=True, max_length=254)
    ip = me.StringField(null=True, max_length=64)
    user_agent = me.StringField(null=True, max_length=256)
    request_id = me.StringField(null=True, max_length=128)
    details = me.DictField()

    meta = {
        "db_alias": "accounts",
        "collection": "accounts_audit",
        "indexes": [
            {"fields": ["-at", "-_id"]},
            {"fields": ["user_id", "-at", "-_id"]},
            {"fields": ["type", "-at", "-_id"]},
        ],
    }
