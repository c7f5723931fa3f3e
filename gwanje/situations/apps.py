from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SituationsConfig(AppConfig):
    name = "gwanje.situations"
    verbose_name = _("Situations and incidents")
