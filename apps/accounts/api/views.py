"""HTTP API of the accounts slice: thin views — parse, call a service or selector, render."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import selectors, services
from apps.accounts.api.serializers import (
    AdminUserSerializer,
    AuditEntrySerializer,
    AuditPageSerializer,
    AuthResultSerializer,
    SessionPageSerializer,
    SessionSerializer,
    TokenPairSerializer,
    UserSerializer,
)
from apps.accounts.enums import AUDIT_TYPES, ROLES
from tradesignals.kernel import ratelimit
from tradesignals.kernel import tokens as kernel_tokens
from tradesignals.kernel.drf import filters
from tradesignals.kernel.drf.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictEmailField,
    StrictIdentifierField,
    StrictInputSerializer,
    password_policy_schema,
)
from tradesignals.kernel.drf.permissions import IsAdmin
from tradesignals.kernel.drf.schema import error_responses
from tradesignals.kernel.errors import NotFound


def client_of(request) -> services.Client:
    return services.Client(ip=ratelimit.client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", ""))


def _auth_result(user, pair) -> dict:
    return AuthResultSerializer({"user": user, "access": pair.access, "refresh": pair.refresh}).data


class PublicApi(APIView):
    """Endpoints reached without an access token (a stale Authorization header must not 401 a login)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


class UserRegisterApi(PublicApi):
    """Create an account (role ``user``) and log it in: the response carries the first token pair."""

    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "RegisterInput"

        email = StrictEmailField(max_length=254)
        password = StrictCharField(max_length=256, trim_whitespace=False, schema=password_policy_schema)
        display_name = StrictCharField(min_length=1, max_length=80, required=False)

    @extend_schema(operation_id="auth_register", request=InputSerializer,
                   responses={201: AuthResultSerializer, **error_responses(400, 409, 429, 503)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user, pair = services.user_register(**data.validated_data, client=client_of(request))
        return Response(_auth_result(user, pair), status=status.HTTP_201_CREATED)


class UserLoginApi(PublicApi):
    """Exchange email and password for a token pair; every failure is the same 401 (no account enumeration)."""

    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "LoginInput"

        email = StrictCharField(max_length=254)
        password = StrictCharField(max_length=256, trim_whitespace=False)

    @extend_schema(operation_id="auth_login", request=InputSerializer,
                   responses={200: AuthResultSerializer, **error_responses(400, 401, 429, 503)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user, pair = services.session_login(**data.validated_data, client=client_of(request))
        return Response(_auth_result(user, pair))


class TokenRefreshApi(PublicApi):
    """Rotate a refresh token: a new pair, the old refresh token spent (its reuse ends the whole session)."""

    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "RefreshInput"

        refresh = StrictCharField(max_length=4096)

    @extend_schema(operation_id="auth_refresh", request=InputSerializer,
                   responses={200: TokenPairSerializer, **error_responses(400, 401, 409, 429, 503)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = services.session_refresh(refresh_token=data.validated_data["refresh"], client=client_of(request))
        return Response(TokenPairSerializer({"access": pair.access, "refresh": pair.refresh}).data)


class TokenVerifyApi(PublicApi):
    """simplejwt's verify convention: ``{"token": …}`` → 200 for a token the product accepts now, else 401."""

    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "TokenVerifyInput"

        token = StrictCharField(max_length=kernel_tokens.MAX_TOKEN_LENGTH)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TokenVerifyResult"

        token_type = serializers.ChoiceField(choices=(kernel_tokens.ACCESS, kernel_tokens.REFRESH))
        expires_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="auth_verify", request=InputSerializer,
        description="Whether an access or refresh token would be accepted now: its signature, issuer, audience "
                    "and expiry, and whether it was revoked (logout, logout-all, a password or role change, "
                    "rotation of a refresh token). 401 `token_invalid` otherwise. Nothing is changed.",
        responses={200: OutputSerializer, **error_responses(400, 401, 429, 503)},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.token_verify(token=data.validated_data["token"], client=client_of(request))
        response = Response(self.OutputSerializer(result).data)
        response["Cache-Control"] = "no-store"  # an answer about a credential: never kept by any cache
        return response


class SessionLogoutApi(APIView):
    @extend_schema(operation_id="auth_logout", request=None, responses={204: None, **error_responses(401, 503)})
    def post(self, request):
        services.session_logout(principal=request.user, client=client_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionLogoutAllApi(APIView):
    @extend_schema(operation_id="auth_logout_all", request=None, responses={204: None, **error_responses(401, 503)})
    def post(self, request):
        services.user_logout_all(principal=request.user, client=client_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserMeApi(APIView):
    @extend_schema(operation_id="auth_me", responses={200: UserSerializer, **error_responses(401, 404, 503)})
    def get(self, request):
        user = selectors.user_get(user_id=request.user.user_id)
        if user is None:
            raise NotFound()
        return Response(UserSerializer(user).data)


class UserPasswordChangeApi(APIView):
    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "PasswordChangeInput"

        current_password = StrictCharField(max_length=256, trim_whitespace=False)
        new_password = StrictCharField(max_length=256, trim_whitespace=False, schema=password_policy_schema)

    @extend_schema(operation_id="auth_password_change", request=InputSerializer,
                   responses={204: None, **error_responses(400, 401, 429, 503)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_password_change(principal=request.user, client=client_of(request), **data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionListApi(APIView):
    class FilterSerializer(filters.FilterSerializer):
        """Only the page: the list is always the caller's own sessions."""

    @extend_schema(operation_id="auth_sessions_list", parameters=[FilterSerializer],
                   responses={200: SessionPageSerializer, **error_responses(400, 401, 503)})
    def get(self, request):
        principal = request.user
        walk = self.FilterSerializer.walk(request, name="accounts.sessions", private={"user": principal.user_id})
        page = selectors.session_list(user_id=principal.user_id, after=walk.after, limit=walk.limit)
        results = SessionSerializer(page.items, many=True, context={"family": principal.family}).data
        return Response({"results": results, "next": walk.next_url(request.path, page)})


class SessionDeleteApi(APIView):
    def action_allowed(self, request, method: str, data) -> bool:
        """The browsable API's DELETE button only on one of the caller's own live sessions."""
        return services.session_may_revoke(principal=request.user, session_id=self.kwargs["session_id"])

    @extend_schema(operation_id="auth_sessions_delete", responses={204: None, **error_responses(401, 404, 503)})
    def delete(self, request, session_id: str):
        services.session_revoke(principal=request.user, session_id=session_id, client=client_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserAdminUpdateApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "AdminUserUpdateInput"

        role = StrictChoiceField(choices=ROLES, required=False)
        is_active = StrictBooleanField(required=False)
        body_schema = {"minProperties": 1}  # validate: at least one of them

        def validate(self, attrs):
            if not attrs:
                raise serializers.ValidationError("Send at least one of: role, is_active.")
            return attrs

    def action_allowed(self, request, method: str, data) -> bool:
        """Administrators change other accounts only (``user_admin_update`` refuses their own)."""
        return self.kwargs["user_id"] != request.user.user_id

    @extend_schema(operation_id="auth_admin_user_update", request=InputSerializer,
                   responses={200: AdminUserSerializer, **error_responses(400, 401, 403, 404, 409, 503)})
    def patch(self, request, user_id: str):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_admin_update(actor=request.user, user_id=user_id, client=client_of(request),
                                          **data.validated_data)
        return Response(AdminUserSerializer(user).data)


class AuditListApi(APIView):
    permission_classes = [IsAdmin]

    class FilterSerializer(filters.FilterSerializer):
        """Exactly a member / an id as issued: nothing else reaches the query, and nothing is trimmed into one."""

        user_id = StrictIdentifierField(noun="a user id", required=False)
        type = StrictChoiceField(choices=AUDIT_TYPES, required=False)

    @extend_schema(operation_id="auth_admin_audit_list", parameters=[FilterSerializer],
                   responses={200: AuditPageSerializer, **error_responses(400, 401, 403, 503)})
    def get(self, request):
        walk = self.FilterSerializer.walk(request, name="accounts.audit")
        page = selectors.audit_list(**walk.filters, after=walk.after, limit=walk.limit)
        return Response({"results": AuditEntrySerializer(page.items, many=True).data,
                         "next": walk.next_url(request.path, page)})
