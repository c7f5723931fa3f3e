"""Event devices: registering one (with its secret) and the demo devices of a deployment."""

from __future__ import annotations

import random
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from gwanje.registry.choices import Purpose
from gwanje.registry.models import Camera, Site
from gwanje.situations.choices import IncidentKind
from gwanje.situations.models import Device

SOS_GATEWAY = "useoul-sos-gw"
RECORDER_DEVICE = "gwanje-recorder"


_HOOKS: list = []


def on_devices_changed(fn) -> None:
    """Register fn() to run after a commit that changed devices or secrets (the private broker's
    account sync registers here)."""
    if fn not in _HOOKS:
        _HOOKS.append(fn)


def _changed() -> None:
    for fn in list(_HOOKS):
        transaction.on_commit(fn)


def new_secret() -> str:
    return secrets.token_urlsafe(24)


@transaction.atomic
def rotate_secret(device: Device) -> str:
    """A new secret for the device (the old one stops working at once); returned to show once."""
    device = Device.objects.select_for_update().get(pk=device.pk)
    device.secret = new_secret()
    device.save(update_fields=["secret"])
    _changed()
    return device.secret


@transaction.atomic
def update_device(device: Device, *, name: str, site, camera, is_active: bool) -> Device:
    device.name, device.site, device.camera, device.is_active = name, site, camera, is_active
    device.full_clean()
    device.save(update_fields=["name", "site", "camera", "is_active"])
    _changed()
    return device


@transaction.atomic
def register_device(
    *, device_id: str, kind: str, name: str = "", site: Site | None = None, camera: Camera | None = None
) -> Device:
    """Create (or update) a device; a new one gets a random secret, shown to its installer through the
    back office and used for webhook signatures and the broker login."""
    if kind not in IncidentKind.DEVICE_KINDS:
        raise ValidationError({"kind": _("Unknown device kind.")})
    if kind == IncidentKind.BELL and site is None:
        raise ValidationError({"site": _("An emergency bell belongs to a site.")})
    device, created = Device.objects.get_or_create(
        device_id=device_id, defaults={"kind": kind, "name": name, "site": site, "camera": camera}
    )
    if created:
        device.full_clean()
        device.secret = new_secret()
    else:
        device.kind, device.name, device.site, device.camera = kind, name, site, camera
    device.save()
    _changed()
    if kind == IncidentKind.BELL and not site.has_emergency_bell:
        Site.objects.filter(pk=site.pk).update(has_emergency_bell=True)
    return device


def seed_demo_devices(*, bells: int = 40, analytics: int = 10, plates: int = 8, seed: int = 20141030) -> int:
    """Demo devices for a deployment: emergency bells at crime-prevention sites, the u-Seoul SOS
    gateway, analytics and plate readers on some cameras, and the recorder's fault reports. Idempotent."""
    rng = random.Random(seed)
    with_bells = list(Site.objects.filter(has_emergency_bell=True).order_by("code")[:bells])
    crime = with_bells or list(
        Site.objects.filter(cameras__primary_purpose=Purpose.CRIME_PREVENTION, has_onsite_storage=False)
        .distinct()
        .order_by("code")
    )
    made = 0
    for site in with_bells or rng.sample(crime, min(bells, len(crime))):
        register_device(
            device_id=f"bell-{site.code}", kind=IncidentKind.BELL, name=f"비상벨 {site.name}", site=site
        )
        made += 1
    register_device(device_id=SOS_GATEWAY, kind=IncidentKind.SOS, name="u-서울안전서비스 연계 게이트웨이")
    register_device(device_id=RECORDER_DEVICE, kind=IncidentKind.FAULT, name="Gwanje 녹화기")
    cameras = list(
        Camera.objects.filter(primary_purpose=Purpose.CRIME_PREVENTION).select_related("site").order_by("id")
    )
    for camera in rng.sample(cameras, min(analytics + plates, len(cameras))):
        if analytics > 0:
            kind, prefix, label, analytics = IncidentKind.ANALYTICS, "va", "지능형 영상분석", analytics - 1
        else:
            kind, prefix, label, plates = IncidentKind.PLATE, "lpr", "차량번호인식", plates - 1
        register_device(device_id=f"{prefix}-{camera.label}", kind=kind, name=f"{label} {camera.label}",
                        site=camera.site, camera=camera)  # fmt: skip
        made += 1
    return made + 2
