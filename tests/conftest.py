"""Session-wide real servers, per-test clean state, and one temp directory per run that the run removes."""
from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from tests.support.browser import browser  # noqa: F401 - one Chromium for the whole session, every module
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
    os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", tempfile.gettempdir())
    root = tempfile.mkdtemp(prefix="ts-tests-")
    os.chmod(root, 0o755)  # noqa: S103 - traversal for nginx workers; every entry inside has its own mode
    config.stash[_TEMP] = (root, os.environ.get("TMPDIR"), tempfile.tempdir)
    os.environ["TMPDIR"] = tempfile.tempdir = root


def pytest_unconfigure(config):
    root, tmpdir, tempdir = config.stash[_TEMP]
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


@pytest.fixture(autouse=True)
def clean_state(mongo_uri, redis_server_url, settings):
    """Every test starts with empty collections (indexes kept), an empty Redis db and empty local caches."""
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
