"""Rate limits: login per IP and per account, register per IP, refresh per family, the gateway budget,
and client-IP resolution behind trusted proxies. Counters live in the real Redis."""
import pytest
from django.test import RequestFactory

from tests.support.accounts import PASSWORD, unique_email
from tradesignals.kernel.ratelimit import client_ip


def assert_limited(response):
    assert response.status_code == 429, response.content
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 3600


def test_the_n_plus_first_login_from_one_ip_is_429_with_retry_after(accounts, settings):
    settings.AUTH_RATE_LIMIT_MAX = 3
    email = unique_email()
    accounts.register(email=email)
    for _ in range(3):
        assert accounts.post("login", {"email": email, "password": PASSWORD}).status_code == 200
    assert_limited(accounts.post("login", {"email": email, "password": PASSWORD}))
    # another client IP has its own budget
    assert accounts.post("login", {"email": email, "password": PASSWORD}, REMOTE_ADDR="10.9.9.9").status_code == 200


def test_failed_logins_per_account_are_capped_across_ips(accounts, settings):
    settings.LOGIN_ACCOUNT_BURST_MAX = 3
    email = unique_email()
    accounts.register(email=email)
    for n in range(3):
        response = accounts.post("login", {"email": email, "password": "wrong-password-123"},
                                 REMOTE_ADDR=f"10.0.0.{n + 1}")
        assert response.status_code == 401
    # the account is now locked for the burst window, even with the right password from a new IP
    assert_limited(accounts.post("login", {"email": email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.99"))
    # other accounts are unaffected
    other = unique_email()
    accounts.register(email=other)
    assert accounts.post("login", {"email": other, "password": PASSWORD}, REMOTE_ADDR="10.0.0.99").status_code == 200


def test_hourly_failure_cap_per_account(accounts, settings):
    settings.LOGIN_ACCOUNT_FAILURE_MAX = 2
    email = unique_email()
    accounts.register(email=email)
    for n in range(2):
        accounts.post("login", {"email": email, "password": "wrong-password-123"}, REMOTE_ADDR=f"10.1.0.{n}")
    response = accounts.post("login", {"email": email, "password": PASSWORD}, REMOTE_ADDR="10.1.0.50")
    assert_limited(response)
    assert int(response["Retry-After"]) <= 3600


def test_successful_logins_do_not_count_against_the_account(accounts, settings):
    settings.LOGIN_ACCOUNT_BURST_MAX = 2
    email = unique_email()
    accounts.register(email=email)
    for n in range(4):
        assert accounts.post("login", {"email": email, "password": PASSWORD},
                             REMOTE_ADDR=f"10.2.0.{n}").status_code == 200


def test_register_is_limited_per_ip(accounts, settings):
    settings.REGISTER_RATE_LIMIT_MAX = 2
    accounts.register()
    accounts.register()
    assert_limited(accounts.post("register", {"email": unique_email(), "password": PASSWORD}))


def test_refresh_is_limited_per_family(accounts, settings):
    settings.REFRESH_RATE_LIMIT_MAX = 2
    token = accounts.register()["refresh"]
    for _ in range(2):
        response = accounts.post("refresh", {"refresh": token})
        assert response.status_code == 200
        token = response.json()["refresh"]
    assert_limited(accounts.post("refresh", {"refresh": token}))
    other_family = accounts.register()["refresh"]
    assert accounts.post("refresh", {"refresh": other_family}).status_code == 200


def test_gateway_budget_counts_every_api_request_per_user(accounts, settings):
    settings.RATE_LIMIT_MAX = 5
    session = accounts.register()  # 1 anonymous request from 127.0.0.1
    for _ in range(5):
        assert accounts.me(session["access"]).status_code == 200
    limited = accounts.me(session["access"])
    assert_limited(limited)
    assert limited["X-Request-ID"]
    # the budget is per user: anonymous requests from the same IP still have theirs
    assert accounts.get("me").status_code == 401
    # non-API paths do not count
    assert accounts.client.get("/healthz").status_code == 200


def test_gateway_budget_counts_anonymous_requests_per_ip(accounts, settings):
    settings.RATE_LIMIT_MAX = 3
    for _ in range(3):
        assert accounts.get("me").status_code == 401
    assert_limited(accounts.get("me"))
    assert accounts.get("me", REMOTE_ADDR="10.3.3.3").status_code == 401


# --- client IP resolution ---------------------------------------------------------------------------------


def request(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_the_socket_address_wins(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(request("198.51.100.7", "1.2.3.4")) == "198.51.100.7"


@pytest.mark.parametrize("forwarded, expected", [
    ("203.0.113.9", "203.0.113.9"),                          # nginx appended the real client
    ("6.6.6.6, 203.0.113.9", "203.0.113.9"),                 # a spoofed left-most value is ignored
    ("6.6.6.6, 203.0.113.9, 10.0.0.5", "203.0.113.9"),       # walk past a second trusted hop
    ("203.0.113.9, 10.0.0.5, 10.0.0.6", "203.0.113.9"),
    ("garbage, 203.0.113.9", "203.0.113.9"),
    ("203.0.113.9, not-an-ip", "10.0.0.1"),                  # garbage where a proxy wrote: trust the proxy
    ("", "10.0.0.1"),
    ("2001:db8::1", "2001:db8::1"),
])
def test_forwarded_for_is_walked_right_to_left_past_trusted_proxies(settings, forwarded, expected):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "127.0.0.1/32"]
    assert client_ip(request("10.0.0.1", forwarded)) == expected


def test_an_untrusted_peer_cannot_inject_forwarded_for(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(request("198.51.100.7", "10.0.0.2, 1.2.3.4")) == "198.51.100.7"


def test_spoofed_left_most_forwarded_for_does_not_dodge_the_login_limit(accounts, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    settings.AUTH_RATE_LIMIT_MAX = 2
    email = unique_email()
    accounts.register(email=email)
    for n in range(2):
        response = accounts.post("login", {"email": email, "password": PASSWORD},
                                 HTTP_X_FORWARDED_FOR=f"1.1.1.{n}, 203.0.113.9")
        assert response.status_code == 200
    assert_limited(accounts.post("login", {"email": email, "password": PASSWORD},
                                 HTTP_X_FORWARDED_FOR="1.1.1.77, 203.0.113.9"))
    # a different real client behind the same proxy is fine
    assert accounts.post("login", {"email": email, "password": PASSWORD},
                         HTTP_X_FORWARDED_FOR="203.0.113.10").status_code == 200


# --- IPv6 clients share a bucket per network prefix -----------------------------------------------------------


@pytest.mark.parametrize("address, bucket", [
    ("203.0.113.9", "203.0.113.9"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
    ("::ffff:203.0.113.9", "203.0.113.9"),  # an IPv4 client seen through a dual-stack socket
    ("fe80::1%eth0", "fe80::/64"),
    ("not-an-ip", "not-an-ip"),
])
def test_ip_bucket_groups_ipv6_by_prefix(settings, address, bucket):
    from tradesignals.kernel.ratelimit import ip_bucket

    settings.RATE_LIMIT_IPV6_PREFIX = 64
    assert ip_bucket(address) == bucket


def test_ipv6_prefix_is_configurable(settings):
    from tradesignals.kernel.ratelimit import ip_bucket

    settings.RATE_LIMIT_IPV6_PREFIX = 48
    assert ip_bucket("2001:db8:1:2::1") == ip_bucket("2001:db8:1:ffff::1") == "2001:db8:1::/48"


def test_logins_from_one_ipv6_64_share_one_budget(accounts, settings):
    settings.AUTH_RATE_LIMIT_MAX = 2
    email = unique_email()
    accounts.register(email=email)
    for host in ("1", "2"):
        assert accounts.post("login", {"email": email, "password": PASSWORD},
                             REMOTE_ADDR=f"2001:db8:7:7::{host}").status_code == 200
    # a fresh address in the same /64 is the same client
    assert_limited(accounts.post("login", {"email": email, "password": PASSWORD}, REMOTE_ADDR="2001:db8:7:7::beef"))
    # the neighbouring /64 is someone else
    assert accounts.post("login", {"email": email, "password": PASSWORD},
                         REMOTE_ADDR="2001:db8:7:8::1").status_code == 200


def test_registrations_from_one_ipv6_64_share_one_budget(accounts, settings):
    settings.REGISTER_RATE_LIMIT_MAX = 1
    assert accounts.post("register", {"email": unique_email(), "password": PASSWORD},
                         REMOTE_ADDR="2001:db8:9:9::1").status_code == 201
    assert_limited(accounts.post("register", {"email": unique_email(), "password": PASSWORD},
                                 REMOTE_ADDR="2001:db8:9:9::2"))


def test_the_anonymous_gateway_budget_counts_an_ipv6_64_once(accounts, settings):
    settings.RATE_LIMIT_MAX = 2
    for host in ("a", "b"):
        assert accounts.get("me", REMOTE_ADDR=f"2001:db8:5:5::{host}").status_code == 401
    assert_limited(accounts.get("me", REMOTE_ADDR="2001:db8:5:5::c"))
    assert accounts.get("me", REMOTE_ADDR="2001:db8:5:6::a").status_code == 401
