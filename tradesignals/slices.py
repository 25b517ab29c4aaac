"""The slice registry: which apps exist, what URL prefixes and Mongo alias each owns.

A deployment serves any subset of slices, chosen by ``TRADESIGNALS_SLICES``. Only this module,
``tradesignals/urls.py`` and ``settings/`` name the apps, and only by dotted string.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Slice:
    name: str
    app: str                      # dotted path of the Django app
    urlconf: str                  # dotted path of the API urlconf, mounted at api_prefix
    api_prefix: str               # e.g. "api/v1/auth/"
    db_alias: str                 # mongoengine alias owned by the app
    extra_urlconfs: tuple[tuple[str, str], ...] = ()  # (prefix, urlconf) mounted outside /api/


SLICES: dict[str, Slice] = {
    "accounts": Slice(
        name="accounts",
        app="apps.accounts.apps.AccountsConfig",
        urlconf="apps.accounts.api.urls",
        api_prefix="api/v1/auth/",
        db_alias="accounts",
        extra_urlconfs=(("auth/", "apps.accounts.web.urls"),),
    ),
    "users": Slice(
        name="users",
        app="apps.users.apps.UsersConfig",
        urlconf="apps.users.api.urls",
        api_prefix="api/v1/users/",
        db_alias="users",
    ),
    "signals": Slice(
        name="signals",
        app="apps.signals.apps.SignalsConfig",
        urlconf="apps.signals.api.urls",
        api_prefix="api/v1/trade-signals/",
        db_alias="signals",
        extra_urlconfs=(("console/", "apps.signals.console.urls"),),
    ),
    "discussions": Slice(
        name="discussions",
        app="apps.discussions.apps.DiscussionsConfig",
        urlconf="apps.discussions.api.urls",
        api_prefix="api/v1/discussions/",
        db_alias="discussions",
        extra_urlconfs=(("console/discussions/", "apps.discussions.console.urls"),),
    ),
}

ALL = tuple(SLICES)


def parse(value: str | None) -> tuple[str, ...]:
    """Parse a comma list of slice names; empty means all. Unknown names stop start-up."""
    if value is None or not value.strip():
        return ALL
    names = [part.strip().lower() for part in value.split(",") if part.strip()]
    unknown = sorted(set(names) - set(SLICES))
    if unknown:
        raise ImproperlyConfigured(
            f"TRADESIGNALS_SLICES contains unknown slice(s) {', '.join(unknown)}; "
            f"valid names are {', '.join(ALL)}"
        )
    # keep registry order, drop duplicates
    return tuple(name for name in ALL if name in names)


def enabled() -> tuple[Slice, ...]:
    from django.conf import settings

    return tuple(SLICES[name] for name in settings.TRADESIGNALS_SLICES)
