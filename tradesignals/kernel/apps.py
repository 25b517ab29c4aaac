from django.apps import AppConfig


class KernelConfig(AppConfig):
    name = "tradesignals.kernel"
    label = "kernel"
    verbose_name = "tradesignals kernel"

    def ready(self) -> None:
        from tradesignals.kernel import mongo

        mongo.connect_enabled_aliases()
