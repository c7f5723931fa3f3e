from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "gwanje.registry"
    label = "registry"
    verbose_name = _("Camera registry")

    def ready(self) -> None:
        from gwanje.registry import scopes

        scopes.register()
