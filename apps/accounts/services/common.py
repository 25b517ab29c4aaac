"""What every accounts service shares: the request's ``Client``, collections, the transaction, rate strings."""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from apps.accounts.models import AuditEntry, Session, User
from tradesignals.kernel import events, ratelimit


@dataclass(frozen=True)
class Client:
    """Where a request came from, as recorded on sessions and audit entries."""

    ip: str = ""
    user_agent: str = ""

    def trimmed(self) -> Client:
        return Client(ip=(self.ip or "")[:64], user_agent=(self.user_agent or "")[:256])


# Where a service called without a request (a command, a receiver) records nothing.
NO_CLIENT = Client()

def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def _users():
    return User._get_collection()


def _sessions():
    return Session._get_collection()


def _atomic():
    """``events.atomic("accounts")`` with our collections and indexes created first.

    mongoengine creates a collection's indexes on its first use; doing that inside a transaction
    conflicts with the transaction's own writes, so it happens (once per process) before it starts.
    """
    for model in (User, Session, AuditEntry):
        model._get_collection()
    return events.atomic("accounts")


def _validated(doc):
    doc.validate()
    return doc.to_mongo().to_dict()


def _rates() -> dict[str, str]:
    return {
        "login_ip": ratelimit.rate(settings.AUTH_RATE_LIMIT_MAX, settings.RATE_LIMIT_WINDOW_MS // 1000),
        "login_account": ratelimit.rate(settings.LOGIN_ACCOUNT_FAILURE_MAX, settings.LOGIN_ACCOUNT_FAILURE_WINDOW),
        "login_burst": ratelimit.rate(settings.LOGIN_ACCOUNT_BURST_MAX, settings.LOGIN_ACCOUNT_BURST_WINDOW),
        "register_ip": ratelimit.rate(settings.REGISTER_RATE_LIMIT_MAX, settings.REGISTER_RATE_LIMIT_WINDOW),
        "refresh_family": ratelimit.rate(settings.REFRESH_RATE_LIMIT_MAX, settings.REFRESH_RATE_LIMIT_WINDOW),
        "verify_ip": ratelimit.rate(settings.AUTH_RATE_LIMIT_MAX, settings.RATE_LIMIT_WINDOW_MS // 1000),
    }
