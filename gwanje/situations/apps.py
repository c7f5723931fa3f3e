from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SituationsConfig(AppConfig):
    name = "gwanje.situations"
    verbose_name = _("Situations and incidents")

    def ready(self) -> None:
        from gwanje.core.access import register_grant_check
        from gwanje.situations.grants import active_grant

        register_grant_check(active_grant)

        from gwanje.situations import scopes

        scopes.register()

        from gwanje.situations.mqtt.broker import sync_if_running
        from gwanje.situations.services.devices import on_devices_changed

        on_devices_changed(sync_if_running)
