from django.apps import AppConfig


class KernelConfig(AppConfig):
    name = "tradesignals.kernel"
    label = "kernel"
    verbose_name = "tradesignals kernel"

    def ready(self) -> None:
        from tradesignals.kernel import mongo
        from tradesignals.kernel.drf import schema  # noqa: F401 - registers the OpenAPI auth extensions

        mongo.connect_enabled_aliases()
