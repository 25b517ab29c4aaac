"""``manage.py images_gc``: delete the images nobody needs, in every app of this deployment, and say what went."""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from tradesignals.kernel.errors import ServiceUnavailable
from tradesignals.kernel.images import gc


class Command(BaseCommand):
    help = ("Delete uploads never attached within IMAGE_ORPHAN_TTL, detached images whose deletion did not run, "
            "and stored files no record names (older than IMAGE_GC_GRACE). Prints the counts as JSON.")

    def handle(self, *args, **options):
        try:
            counts = gc.collect_all()
        except ServiceUnavailable as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(counts, sort_keys=True))
