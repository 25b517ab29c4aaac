"""What every slice knows of a caller: the claims of a verified access token, nothing more."""
from __future__ import annotations

from dataclasses import dataclass

ROLE_USER = "user"
ROLE_ADMIN = "admin"
# A market-data source (an exchange bridge, a loader): a user who may also post candles.
ROLE_FEED = "feed"
ROLES = (ROLE_USER, ROLE_FEED, ROLE_ADMIN)


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: str
    name: str
    jti: str
    family: str | None
    version: int
    expires_at: int

    is_authenticated = True
    is_anonymous = False

    def __str__(self) -> str:
        # What DRF's browsable API prints for the logged-in user: never token ids.
        return self.name or f"user {self.user_id}"

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN

    @property
    def may_feed_market(self) -> bool:
        return self.role in (ROLE_FEED, ROLE_ADMIN)

    @property
    def pk(self) -> str:  # what DRF throttles and logs look for
        return self.user_id

    @property
    def id(self) -> str:  # simplejwt's USER_ID_FIELD, as on its TokenUser
        return self.user_id

    @staticmethod
    def from_claims(claims: dict) -> Principal:
        return Principal(**_fields(claims))


def _fields(claims: dict) -> dict:
    return {
        "user_id": str(claims["sub"]),
        "role": str(claims.get("role", ROLE_USER)),
        "name": str(claims.get("name", "")),
        "jti": str(claims["jti"]),
        "family": claims.get("fam"),
        "version": int(claims.get("ver", 0)),
        "expires_at": int(claims["exp"]),
    }


class TokenPrincipal(Principal):
    """simplejwt's ``TOKEN_USER_CLASS``: what ``JWTStatelessUserAuthentication.get_user`` makes of a validated
    access token — our Principal (no database lookup, nothing beyond the claims)."""

    def __init__(self, token):
        super().__init__(**_fields(token.payload))
