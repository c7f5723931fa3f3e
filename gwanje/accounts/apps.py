from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "gwanje.accounts"
    label = "accounts"
    verbose_name = _("Organisations and accounts")

    def ready(self) -> None:
        from gwanje.accounts import backends  # noqa: F401 - connects the user_logged_in receiver
