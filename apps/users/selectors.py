"""Every read of the users app: profiles, the claims fallback, the admin directory, the /me cache, track records."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from apps.users import cache
from apps.users.models import OUTCOME_STATES, Profile, SignalOutcome
from tradesignals.kernel import keyset, mongo
from tradesignals.kernel.clock import utcnow
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
    return profile_with_track_record(Profile._from_son(raw), reads=mongo.PUBLIC)


def profile_with_track_record(profile: Profile, *, reads: str = mongo.PRIMARY) -> Profile:
    """``profile`` carrying its ``track_record`` (what the public and the own representation show)."""
    profile.track_record = track_record(user_id=profile.id, reads=reads)
    return profile


def profile_me_rendered(*, principal: Principal, render: Callable[[Profile], bytes]) -> bytes:
    """The caller's own profile with its track record as response bytes, read through the per-user cache (one
    build per miss, cluster-wide). ``render`` serialises it (the API view, with DRF; this module never imports
    DRF). A change of the record drops the entry (``profile_changed``); the 30-day window moves on its own, so
    an entry is at most ``CACHE_TTL_SECONDS`` behind it.

    The claims-built stand-in of a profile not projected yet is rendered but never cached: the projection
    replaces it, and a cached stand-in would outlive it until the next change of the profile."""
    stand_in: list[bytes] = []

    def build() -> bytes | None:
        profile = profile_with_track_record(profile_for_principal(principal=principal))
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


# --- track records ---------------------------------------------------------------------------------------

RECENT_DAYS = 30  # the window of ``last_30_days``
_CENT = Decimal("0.01")
# Outcomes, R in hundredths and how many have an R, per final state (shapes.py declares the two queries).
TRACK_RECORD_GROUP = {"$group": {"_id": "$state", "n": {"$sum": 1}, "r": {"$sum": "$r_cents"},
                                 "rn": {"$sum": "$r_count"}}}


def _two_places(value: Decimal) -> str:
    rounded = value.quantize(_CENT, rounding=ROUND_HALF_UP)
    return str(rounded if rounded else Decimal("0.00"))  # never "-0.00"


def _tally(match: dict, reads: str) -> dict:
    """The record of the counted outcomes ``match`` selects: one ``$group`` over the
    (owner_id, counted, closed_at) index (shapes.py)."""
    found = {state: 0 for state in OUTCOME_STATES}
    r_cents = r_count = 0
    for row in mongo.collection(SignalOutcome, reads).aggregate([{"$match": match}, TRACK_RECORD_GROUP]):
        if row["_id"] in found:
            found[row["_id"]] += int(row["n"])
            r_cents += int(row["r"])
            r_count += int(row["rn"])
    closed = sum(found.values())
    total = Decimal(r_cents) / 100
    return {
        "closed": closed, **found,
        "win_rate": _two_places(Decimal(found["won"]) / closed) if closed else None,
        "average_r": _two_places(total / r_count) if r_count else None,
        "total_r": _two_places(total),
    }


def track_record(*, user_id: str, reads: str = mongo.PRIMARY) -> dict:
    """A trader's public track record: the outcomes of their signals that are decided and still approved and
    not deleted (``SignalOutcome.counted``), overall and over the last ``RECENT_DAYS`` days by ``closed_at``.

    Computed on each read (two indexed aggregations), so it is never behind the projection; a cached
    representation of it (``/users/me``) is dropped on every change of the record and lives at most
    ``CACHE_TTL_SECONDS``, which bounds how late an outcome leaves the 30-day window there."""
    match = {"owner_id": str(user_id), "counted": True}
    since = utcnow() - timedelta(days=RECENT_DAYS)
    return {**_tally(match, reads), "last_30_days": _tally({**match, "closed_at": {"$gte": since}}, reads)}
