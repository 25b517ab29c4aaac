"""Every read of the users app: profiles, the claims fallback, the admin directory, the /me cache."""
from __future__ import annotations

from collections.abc import Callable

from apps.users import cache
from apps.users.models import Profile
from tradesignals.kernel import keyset, mongo
from tradesignals.kernel.errors import NotFound
from tradesignals.kernel.identity import ROLES, Principal
from tradesignals.kernel.pagination import Page, Position, paginate


def profile_get(*, user_id: str) -> Profile | None:
    """The projected profile, complete or partial (``registered`` False), or None."""
    return Profile.objects(id=str(user_id)).first()


def profile_for_principal(*, principal: Principal) -> Profile:
    """The caller's own profile; until the projection has them, one built from the token claims.

    A valid token proves the account exists, so ``/users/me`` never answers 404 just because the
    ``user.registered`` event has not been consumed yet.
    """
    return profile_with_claims(profile=profile_get(user_id=principal.user_id), principal=principal)


def profile_with_claims(*, profile: Profile | None, principal: Principal) -> Profile:
    """``profile`` if complete; otherwise what is known, with role and name taken from the token."""
    if profile is not None and profile.registered:
        return profile
    if profile is None:
        profile = Profile(id=principal.user_id)
    profile.role = principal.role if principal.role in ROLES else "user"
    if not profile.display_name_at_us:
        profile.display_name = principal.name[:80]
    return profile


def profile_get_public(*, user_id: str) -> Profile:
    """A public profile: only complete, active users exist for the public (deactivated → 404)."""
    # Public: may be read from a secondary (kernel.mongo.PUBLIC); the owner's /me reads the primary.
    raw = mongo.collection(Profile, mongo.PUBLIC).find_one({"_id": str(user_id), "registered": True,
                                                            "is_active": True})
    if raw is None:
        raise NotFound("No such user.")
    return Profile._from_son(raw)


def profile_me_rendered(*, principal: Principal, render: Callable[[Profile], bytes]) -> bytes:
    """The caller's own profile as response bytes, read through the per-user cache (one build per miss,
    cluster-wide). ``render`` serialises it (the API view, with DRF; this module never imports DRF).

    The claims-built stand-in of a profile not projected yet is rendered but never cached: the projection
    replaces it, and a cached stand-in would outlive it until the next change of the profile."""
    stand_in: list[bytes] = []

    def build() -> bytes | None:
        profile = profile_for_principal(principal=principal)
        body = render(profile)
        if profile.registered:
            return body
        stand_in.append(body)
        return None  # not stored

    found = cache.me_read_through(principal.user_id, build)
    return found.value if found.value is not None else stand_in[0]


def profile_list(
    *,
    search: str | None = None,
    role: str | None = None,
    is_active: bool | None = None,
    after: Position | None = None,
    limit: int,
) -> Page[Profile]:
    """Admin directory, newest first, keyset-paginated by ``(created_at, id)`` after the position ``after``.

    ``search`` is a case-insensitive prefix of the email or of the display name (regex characters are
    literal). ``limit`` is the page size the API parsed (``FilterSerializer``).
    """
    # Read in bounded created_at windows of the (registered, created_at, id) index (kernel.keyset: the
    # embedded server otherwise decodes every profile per page); the other filters are residual predicates.
    prefix = search.lower() if search else None

    def residual(raw: dict) -> bool:
        if prefix is not None and not ((raw.get("email_lc") or "").startswith(prefix)
                                       or (raw.get("display_name_lc") or "").startswith(prefix)):
            return False
        if role is not None and raw.get("role") != role:
            return False
        return is_active is None or raw.get("is_active") == is_active

    raws = keyset.newest_first(Profile._get_collection(), query={"registered": True}, field="created_at",
                               need=limit + 1, after=after, residual=residual,
                               residual_key=(prefix, role, is_active))
    return paginate((Profile._from_son(raw) for raw in raws), limit=limit)
