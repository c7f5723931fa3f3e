from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "gwanje.audit"
    verbose_name = _("Access logs and permission history")
