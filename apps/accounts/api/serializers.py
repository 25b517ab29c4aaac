"""Serializers shared by the accounts views (each view nests its own Input/Output serializers)."""
from __future__ import annotations

from rest_framework import serializers


class StrictInputSerializer(serializers.Serializer):
    """An input serializer that refuses fields it does not declare (a client-sent ``role`` is a 400)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["This field is not allowed."] for name in unknown})
        return super().to_internal_value(data)


class UserSerializer(serializers.Serializer):
    """The ``user`` object of DESIGN §4."""

    id = serializers.CharField()
    email = serializers.EmailField()
    role = serializers.CharField()
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
