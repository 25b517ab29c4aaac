from django.apps import AppConfig


class SignalsConfig(AppConfig):
    name = "apps.signals"
    label = "signals"

    def ready(self) -> None:
        # Event and Django-signal receivers register themselves on import.
        from importlib import util

        if util.find_spec("apps.signals.receivers"):
            __import__("apps.signals.receivers")
