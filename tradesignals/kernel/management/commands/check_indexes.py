"""``manage.py check_indexes``: prove that an index serves every query shape the product sends.

The shapes come from ``kernel.query_shapes`` (the kernel's own, and each installed app's ``shapes.SHAPES``).
On MongoDB each one is explained (``queryPlanner``) and fails on a collection scan or an in-memory sort; on
the embedded server (detected by ``buildInfo``), whose planner is not MongoDB's, a declared index must serve
it (``query_shapes.judge``). Prints one row per shape; exits 1 with the table of failures, 2 when it could not
check (no server answered).
"""
from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from pymongo.errors import PyMongoError

from tradesignals.kernel import query_shapes
from tradesignals.kernel.management.commands._lifecycle import import_modules

AUTO, EXPLAIN, PREFIX = "auto", "explain", "prefix"


def server_kind(database) -> str:
    """``embedded`` (SecantusDB answers ``buildInfo`` with its own version), ``mongos`` or ``mongod``."""
    client = database.client
    build = client.admin.command("buildInfo")
    if "secantusVersion" in build:
        return "embedded"
    return "mongos" if client.admin.command("hello").get("msg") == "isdbgrid" else "mongod"


@contextmanager
def embedded_server():
    """A private embedded server in a temp dir for this run, every alias pointed at it."""
    from secantus import SecantusDBServer

    from tradesignals.kernel import mongo

    directory = tempfile.mkdtemp(prefix="check-indexes-")
    server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=directory)
    server.start()
    try:
        mongo.connect_enabled_aliases(uri_override=f"{server.uri.rstrip('/')}/{settings.MONGODB_DB}")
        yield
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def ensure_indexes(shapes) -> None:
    """Build the declared indexes of every collection a shape reads (as the product does on first use)."""
    from tradesignals.kernel.events import inbox, outbox

    done: set[tuple[str, str]] = set()
    for shape in shapes:
        where = (shape.alias, shape.collection)
        if where in done:
            continue
        done.add(where)
        document = query_shapes.document_for(*where)
        if document is not None:
            document.ensure_indexes()
        elif shape.collection == outbox.OUTBOX_COLLECTION:
            outbox.ensure_indexes(shape.alias)
        elif shape.collection == inbox.DEAD_LETTER_COLLECTION:
            inbox.ensure_indexes(shape.alias)


def check(shapes, *, mode: str = AUTO, out=None) -> list[query_shapes.Verdict]:
    """One verdict per shape; ``mode`` forces ``explain`` or ``prefix`` (``auto``: by the server's kind)."""
    from tradesignals.kernel import mongo

    ensure_indexes(shapes)
    kinds: dict[str, str] = {}
    verdicts = []
    for shape in shapes:
        database = mongo.database(shape.alias)
        if shape.alias not in kinds:
            kinds[shape.alias] = server_kind(database)
            if out is not None:
                chosen = mode if mode != AUTO else (PREFIX if kinds[shape.alias] == "embedded" else EXPLAIN)
                out(f"alias {shape.alias}: {kinds[shape.alias]} server, {chosen} check")
        use = mode if mode != AUTO else (PREFIX if kinds[shape.alias] == "embedded" else EXPLAIN)
        if use == EXPLAIN:
            explained = database.command("explain", query_shapes.explain_command(shape), verbosity="queryPlanner")
            verdicts.append(query_shapes.explain_verdict(shape, explained))
        else:
            indexes = query_shapes.declared_indexes(shape.alias, shape.collection, database=database)
            verdicts.append(query_shapes.judge(shape, indexes or []))
    return verdicts


def table(verdicts, *, strict: bool = False) -> str:
    rows = [("result", "shape", "collection", "index", "detail")]
    for v in verdicts:
        result = "ok" if v.ok else ("EXEMPT" if v.shape.exempt and not strict else "FAIL")
        detail = v.detail
        if v.shape.exempt:
            detail += " — served now: drop its exemption" if v.ok else f" — exempt: {v.shape.exempt}"
        rows.append((result, v.shape.name, f"{v.shape.alias}.{v.shape.collection}", v.index or "-", detail))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(widths[i]) for i, c in enumerate(r[:4])) + "  " + r[4] for r in rows)


class Command(BaseCommand):
    help = ("Explain every declared query shape (MongoDB: no COLLSCAN, no in-memory SORT; the embedded "
            "server: a declared index whose prefix serves it); exit 1 with the failures.")

    def add_arguments(self, parser):
        parser.add_argument("--mode", choices=(AUTO, EXPLAIN, PREFIX), default=AUTO,
                            help="explain on MongoDB and the prefix check on the embedded server (auto, the "
                                 "default), or force one")
        parser.add_argument("--embedded", action="store_true",
                            help="run against a private embedded server started for this run (no server needed)")
        parser.add_argument("--only", action="append", metavar="TEXT",
                            help="check only the shapes whose name contains TEXT; repeatable")
        parser.add_argument("--strict", action="store_true", help="exempt shapes fail too")
        parser.add_argument("--import", action="append", dest="modules", metavar="MODULE",
                            help="import this module first (it may register more shapes); repeatable")

    def handle(self, *args, mode=AUTO, embedded=False, only=None, strict=False, modules=None, **options):
        import_modules(modules)
        if embedded:
            with embedded_server():
                return self._run(mode=mode, only=only, strict=strict)
        return self._run(mode=mode, only=only, strict=strict)

    def _run(self, *, mode, only, strict):
        shapes = query_shapes.all_shapes()
        if only:
            shapes = [s for s in shapes if any(text in s.name for text in only)]
            if not shapes:
                raise CommandError(f"no query shape matches {only}", returncode=2)
        try:
            verdicts = check(shapes, mode=mode, out=self.stdout.write)
        except PyMongoError as exc:
            raise CommandError(f"could not check the indexes, MongoDB failed: {exc} (--embedded runs the check "
                               "on a private embedded server)", returncode=2) from exc
        self.stdout.write(table(verdicts, strict=strict))
        failed = [v for v in verdicts if not v.ok and (strict or not v.shape.exempt)]
        exempt = [v for v in verdicts if not v.ok and v.shape.exempt and not strict]
        summary = f"{len(verdicts)} query shapes: {len(verdicts) - len(failed) - len(exempt)} served by an index"
        summary += f", {len(exempt)} exempt" if exempt else ""
        if failed:
            raise CommandError(f"{summary}, {len(failed)} not:\n{table(failed, strict=strict)}", returncode=1)
        self.stdout.write(summary)
