"""Map layers: the district and its 행정동, police offices, child-protection zones."""

from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _


class District(models.Model):
    """A 자치구 (e.g. 성동구, SIG_CD 11200)."""

    code = models.CharField(_("code"), max_length=10, unique=True)
    name = models.CharField(_("name"), max_length=50)
    name_en = models.CharField(_("English name"), max_length=50, blank=True)
    geom = models.MultiPolygonField(_("boundary"), srid=4326)

    class Meta:
        verbose_name = _("district")
        verbose_name_plural = _("districts")

    def __str__(self) -> str:
        return self.name


class AdminDong(models.Model):
    """행정동 (administrative neighbourhood), with its boundary."""

    code = models.CharField(_("code"), max_length=10, unique=True, help_text=_("adm_cd2, 10 digits"))
    name = models.CharField(_("name"), max_length=50)
    full_name = models.CharField(_("full name"), max_length=100, blank=True)
    district = models.ForeignKey(
        District, verbose_name=_("district"), on_delete=models.CASCADE, related_name="dongs"
    )
    geom = models.MultiPolygonField(_("boundary"), srid=4326)

    class Meta:
        verbose_name = _("administrative dong")
        verbose_name_plural = _("administrative dongs")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PoliceOffice(models.Model):
    """지구대 / 파출소."""

    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200, unique=True)
    point = models.PointField(_("location"), srid=4326)

    class Meta:
        verbose_name = _("police office")
        verbose_name_plural = _("police offices")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ChildProtectionZone(models.Model):
    """어린이보호구역 (school zone), located at its facility."""

    external_id = models.CharField(_("source id"), max_length=30, unique=True)
    facility_name = models.CharField(_("facility"), max_length=100)
    facility_kind = models.CharField(_("facility kind"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    point = models.PointField(_("location"), srid=4326)

    class Meta:
        verbose_name = _("child-protection zone")
        verbose_name_plural = _("child-protection zones")
        ordering = ["facility_name"]

    def __str__(self) -> str:
        return self.facility_name
