"""Serializers shared by the accounts views (each view nests its own Input/Output serializers)."""
from __future__ import annotations

from rest_framework import serializers

from apps.accounts.enums import AUDIT_TYPES, ROLES
from tradesignals.kernel.drf.pagination import PageSerializer


class UserSerializer(serializers.Serializer):
    """The account, as register, login and /auth/me answer with it."""

    id = serializers.CharField()
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=ROLES)
    display_name = serializers.CharField()
    created_at = serializers.DateTimeField()


class AdminUserSerializer(UserSerializer):
    is_active = serializers.BooleanField()
    updated_at = serializers.DateTimeField()


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class AuthResultSerializer(TokenPairSerializer):
    user = UserSerializer()


class SessionSerializer(serializers.Serializer):
    id = serializers.CharField()
    device = serializers.CharField(source="user_agent")
    ip = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    current = serializers.SerializerMethodField()

    def get_current(self, session) -> bool:
        return session.id == self.context.get("family")


class SessionPageSerializer(PageSerializer):
    results = SessionSerializer(many=True)


class AuditEntrySerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.ChoiceField(choices=AUDIT_TYPES)
    at = serializers.DateTimeField()
    user_id = serializers.CharField(allow_null=True)
    actor_id = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True)
    ip = serializers.CharField(allow_null=True)
    user_agent = serializers.CharField(allow_null=True)
    request_id = serializers.CharField(allow_null=True)
    details = serializers.DictField()


class AuditPageSerializer(PageSerializer):
    results = AuditEntrySerializer(many=True)
