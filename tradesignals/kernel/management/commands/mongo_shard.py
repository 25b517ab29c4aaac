"""``manage.py mongo_shard``: apply the sharding plan (``kernel.sharding``, docs/scaling.md).

``--dry-run`` prints the commands as JSON lines and changes nothing. Otherwise the supporting index of every
shard key is created, and on a mongos the ``enableSharding`` / ``shardCollection`` commands run; any other
server gets the commands printed and exit status 2 (sharding needs a mongos). Each command goes through the
client of the alias that owns its database (aliases may point at different clusters).
"""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from pymongo.errors import OperationFailure, PyMongoError

from tradesignals.kernel import sharding
from tradesignals.kernel.management.commands.check_indexes import server_kind

NEEDS_MONGOS = 2
# What MongoDB answers when the step was already done: AlreadyInitialized (sharding enabled, collection sharded).
_ALREADY = {20, 23}


class Command(BaseCommand):
    help = ("Shard the collections as planned (docs/scaling.md): --dry-run prints the enableSharding / "
            "createIndexes / shardCollection commands as JSON lines; without it, creates the shard-key indexes "
            "and runs the commands on a mongos (exit 2 on any other server).")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="print the commands, change nothing")

    def handle(self, *args, dry_run=False, **options):
        problems = sharding.unique_conflicts()
        if problems:
            raise CommandError("the plan breaks unique indexes:\n" + "\n".join(problems))
        routed = sharding.routed_commands()
        if dry_run:
            self._print(routed)
            return
        try:
            self._apply(routed)
        except PyMongoError as exc:
            raise CommandError(f"MongoDB failed: {exc}") from exc

    def _apply(self, routed) -> None:
        from mongoengine.connection import get_connection

        from tradesignals.kernel import mongo

        kinds = {alias: server_kind(mongo.database(alias)) for alias in dict.fromkeys(a for a, _c in routed)}
        if "embedded" in kinds.values():
            self._print(routed)
            raise CommandError("sharding needs a mongos: this is the embedded server (SecantusDB), which has no "
                               "shards (nor hashed indexes); nothing was changed. Run this against the mongos "
                               "of a sharded cluster.", returncode=NEEDS_MONGOS)
        for alias, command in routed:
            if "createIndexes" in command:
                collection = get_connection(alias)[command["$db"]][command["createIndexes"]]
                self._ensure_index(collection, command["indexes"][0])
        if any(kind != "mongos" for kind in kinds.values()):
            self._print(routed)
            raise CommandError("sharding needs a mongos: this server is a mongod (not a sharded cluster's "
                               "router). The shard-key indexes now exist; run the commands above through a mongos.",
                               returncode=NEEDS_MONGOS)
        for alias, command in routed:
            if "createIndexes" in command:
                continue
            try:
                get_connection(alias).admin.command(command)
                self.stdout.write(f"ran {json.dumps(command)}")
            except OperationFailure as exc:
                if exc.code not in _ALREADY:
                    raise
                self.stdout.write(f"already done {json.dumps(command)}")

    def _print(self, routed) -> None:
        for _alias, command in routed:
            self.stdout.write(json.dumps(command))

    def _ensure_index(self, collection, index: dict) -> None:
        wanted = list(index["key"].items())
        for name, info in collection.index_information().items():
            if [(k, d) for k, d in info["key"]] == wanted:
                self.stdout.write(f"index {collection.full_name} {name} exists")
                return
        collection.create_index(wanted, name=index["name"])
        self.stdout.write(f"created index {collection.full_name} {index['name']}")
