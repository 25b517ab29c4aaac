"""Session-wide real servers, per-test clean state, and one temp directory per run that the run removes."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.support.browser import browser  # noqa: F401 - one Chromium for the whole session, every module
from tests.support.seaweed import private_seaweed, seaweedfs, storage_backend  # noqa: F401 - one SeaweedFS per session; both backends
from tests.support.servers import MongoServer, redis_available, redis_url, require

_TEMP = pytest.StashKey[tuple[str, str | None, str | None]]()


def pytest_configure(config):
    """Point the temp dir of this process and of everything it starts (gunicorn and its metrics directory,
    nginx, the browser) at one new directory, removed when the run ends: a run leaves nothing in the system
    temp dir however its servers write there (tests/kernel/test_no_temp_leftovers.py). pytest's own
    ``tmp_path`` directories stay where pytest keeps them (``PYTEST_DEBUG_TEMPROOT``: the system temp dir,
    its last few runs kept for a look after a failure).

    World-traversable, as the system temp dir is: nginx workers run as an unprivileged user when we are root.
    """
    if hasattr(config, "workerinput"):
        # A pytest-xdist worker: the controller made the run's directory and passed it on as TMPDIR; the
        # controller removes it (a directory per worker inside it would only lengthen every path: Chromium
        # refuses a socket path past 107 bytes).
        config.stash[_TEMP] = (None, None, None)
        return
    os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", tempfile.gettempdir())
    root = tempfile.mkdtemp(prefix="ts-tests-")
    os.chmod(root, 0o755)  # noqa: S103 - traversal for nginx workers; every entry inside has its own mode
    config.stash[_TEMP] = (root, os.environ.get("TMPDIR"), tempfile.tempdir)
    os.environ["TMPDIR"] = tempfile.tempdir = root


def pytest_unconfigure(config):
    root, tmpdir, tempdir = config.stash[_TEMP]
    if root is None:  # an xdist worker: the controller's directory
        return
    shutil.rmtree(root, ignore_errors=True)
    tempfile.tempdir = tempdir
    if tmpdir is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = tmpdir


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory):
    """One MongoDB-compatible server for the session (or ``TEST_MONGODB_URI``)."""
    import os

    external = os.environ.get("TEST_MONGODB_URI")
    if external:
        yield type("External", (), {"uri": external, "stop": lambda self: None})()
        return
    try:
        server = MongoServer(tmp_path_factory.mktemp("mongo")).start()
    except ImportError:
        require(False, "secantusdb is not installed and TEST_MONGODB_URI is unset")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mongo_uri(mongo_server):
    from tradesignals.kernel import mongo

    mongo.connect_enabled_aliases(uri_override=mongo_server.uri)
    return mongo_server.uri


@pytest.fixture(scope="session")
def redis_server_url():
    url = redis_url()
    require(redis_available(url), f"Redis is not reachable at {url}")
    return url


def _clean_mongo() -> None:
    from django.conf import settings

    from tradesignals.kernel import mongo

    seen = set()
    for alias in settings.MONGODB_ALIASES:
        db = mongo.database(alias)
        if db.name in seen:
            continue
        seen.add(db.name)
        for name in db.list_collection_names():
            if not name.startswith("system."):
                db[name].delete_many({})


ROOT = Path(__file__).resolve().parents[1]
UNIT_DIR = ROOT / "tests" / "unit"
# Fixtures that start or need a server: a unit test asking for one is a collection error, so the unit tier
# stays runnable with no MongoDB, Redis, nginx or browser.
SERVER_FIXTURES = frozenset({"mongo_server", "mongo_uri", "redis_server_url", "client", "api_client", "browser",
                             "live_server", "db", "seaweedfs", "storage_backend",
                             "private_seaweed"})


# The longest modules (minutes each, most of the run's tail when they came last): collected first, so the workers
# (``--dist loadfile`` hands out modules in collection order) start on them and share out the rest afterwards.
LONGEST_FIRST = ("tests/deploy/test_image_build.py", "tests/fuzz/test_fuzz_user.py",
                 "tests/outcomes/test_track_record_property.py", "tests/fuzz/test_fuzz_admin.py",
                 "tests/fuzz/test_fuzz_anonymous.py")


def _run_order(item) -> int:
    path = Path(str(item.path)).resolve()
    name = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else ""
    return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_collection_modifyitems(config, items):
    """Mark everything under tests/unit ``unit`` (``-m unit`` selects the tier wherever it is run from) and
    refuse a unit test that asks for a server fixture; put the longest modules first (a stable sort: every
    module keeps its own order)."""
    items.sort(key=_run_order)
    for item in items:
        if UNIT_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.unit)
            needed = SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ()))
            if needed:
                raise pytest.UsageError(f"{item.nodeid} is a unit test but asks for {sorted(needed)}: "
                                        "move it out of tests/unit")


@pytest.fixture(autouse=True)
def clean_state(request):
    """Every test starts with empty collections (indexes kept), an empty Redis db and empty local caches.

    Unit tests touch no server, so they get none of this: requesting the server fixtures here (rather than as
    arguments) is what keeps ``make test-unit`` free of MongoDB and Redis."""
    if request.node.get_closest_marker("unit"):
        yield
        return
    request.getfixturevalue("mongo_uri")
    redis_server_url = request.getfixturevalue("redis_server_url")
    settings = request.getfixturevalue("settings")
    import redis
    from django.core.cache import caches

    from tradesignals.kernel import tokens

    tokens.verified_tokens.clear()
    redis.Redis.from_url(redis_server_url).flushdb()
    for alias in settings.CACHES:
        caches[alias].clear()
    _clean_mongo()
    yield


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def accounts(api_client):
    """The accounts API driven as a client application would (tests/support/accounts.py)."""
    from tests.support.accounts import Accounts

    return Accounts(api_client)


@pytest.fixture
def make_caller():
    """``make_caller(role="user", name=…, user_id=…)``: a caller with its own test client and a real token
    (``role=None``: anonymous)."""
    from django.test import Client

    from tests.support.api import Caller

    def make(role: str | None = "user", **kwargs):
        return Caller(Client(), role=role, **kwargs)

    return make


@pytest.fixture
def owner(make_caller):
    return make_caller("user", name="Olivia Owner")


@pytest.fixture
def other(make_caller):
    return make_caller("user", name="Otto Other")


@pytest.fixture
def admin(make_caller):
    return make_caller("admin", name="Ada Admin")


@pytest.fixture
def anonymous(make_caller):
    return make_caller(None)


@pytest.fixture
def fresh_cache_service():
    """A cache service with no state left by an earlier test (breaker, stampede locks), reset again after."""
    from tradesignals.kernel.cache import get_cache, reset_cache

    reset_cache()
    get_cache().reset_state()
    yield
    reset_cache()
