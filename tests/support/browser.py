"""Headless Debian Chromium driven by Playwright (no browser download)."""
from __future__ import annotations

import os

import pytest

from tests.support.servers import require

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def browser():
    require(os.path.exists(CHROMIUM), f"chromium not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield instance
        instance.close()


# Collects the page's Content-Security-Policy violations in window.__cspViolations (read with csp_violations).
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(
  `${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} (${(e.sample || '').slice(0, 60)})`));
"""


def watched_page(context):
    """A new page of ``context`` that records CSP violations and script errors in ``page.problems`` (a resource
    answered 401/403/404 on purpose is not a problem)."""
    context.add_init_script(CSP_WATCH)
    page = context.new_page()
    page.problems = []
    page.on("console", lambda msg: page.problems.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda exc: page.problems.append(str(exc)))
    return page


def csp_violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations")
