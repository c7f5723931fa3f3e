"""Realistic demo events for the demo devices (`gwanje simulate-events`), published over MQTT with
each device's own credentials: bells (sometimes pressed again), u-Seoul SOS subjects walking with
position updates, analytics rules with a confidence, and hotlisted vehicles seen by several plate
readers. Pure generation (EventSource) is separate from publishing."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from dataclasses import dataclass, field

from gwanje.situations.choices import AnalyticsRule, Hotlist, SosCategory

KINDS = ("bell", "sos", "analytics", "plate")
HANGUL = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주하허호"


def korean_plate(rng: random.Random) -> str:
    return f"{rng.randint(10, 399)}{rng.choice(HANGUL)}{rng.randint(1000, 9999)}"


@dataclass
class Walker:
    subject: str
    category: str
    lat: float
    lon: float
    left: int

    def step(self, rng: random.Random) -> None:
        heading = rng.uniform(0, 2 * math.pi)
        metres = rng.uniform(5, 25)
        self.lat += metres * math.cos(heading) / 111_320
        self.lon += metres * math.sin(heading) / (111_320 * math.cos(math.radians(self.lat)))
        self.left -= 1


@dataclass
class EventSource:
    """Endless (kind, device id, payload) tuples for the given devices: {kind: [(device_id, lon, lat,
    camera label)]}."""

    devices: dict[str, list[tuple[str, float, float, str]]]
    kinds: tuple[str, ...] = KINDS
    seed: int | None = None
    rng: random.Random = field(init=False)
    walkers: list[Walker] = field(default_factory=list)
    hotlist: list[tuple[str, str]] = field(default_factory=list)
    recent_bells: list[str] = field(default_factory=list)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.kinds = tuple(k for k in self.kinds if self.devices.get(k))
        if not self.kinds:
            raise ValueError("no demo devices for the requested kinds: load a deployment first")
        self.hotlist = [(korean_plate(self.rng), self.rng.choice(Hotlist.values()[:2])) for _ in range(6)]
        self.run_id = f"{self.rng.getrandbits(32):08x}"

    def _envelope(self, now: dt.datetime) -> dict:
        return {"message_id": f"sim-{self.run_id}-{next(self.counter)}", "ts": now.isoformat()}

    def next(self, now: dt.datetime) -> tuple[str, str, dict]:
        kind = self.rng.choice(self.kinds)
        return getattr(self, f"_{kind}")(now)

    def _bell(self, now):
        if self.recent_bells and self.rng.random() < 0.25:
            device = self.rng.choice(self.recent_bells)  # pressed again
        else:
            device = self.rng.choice(self.devices["bell"])[0]
            self.recent_bells = (self.recent_bells + [device])[-5:]
        return "bell", device, {**self._envelope(now), "button": 1}

    def _sos(self, now):
        gateway, lon, lat, _ = self.devices["sos"][0]
        live = [w for w in self.walkers if w.left > 0]
        if len(live) < 3 and (not live or self.rng.random() < 0.3):
            # start near a random bell or camera, inside the district
            anchors = [d for k in ("bell", "analytics", "plate") for d in self.devices.get(k, [])]
            _, alon, alat, _ = self.rng.choice(anchors) if anchors else (None, lon, lat, None)
            live.append(
                Walker(
                    f"U{self.rng.randint(100000, 999999)}",
                    self.rng.choice(SosCategory.values()),
                    alat,
                    alon,
                    self.rng.randint(4, 12),
                )
            )
        self.walkers = live
        walker = self.rng.choice(live)
        walker.step(self.rng)
        position = {
            "lat": round(walker.lat, 6),
            "lon": round(walker.lon, 6),
            "accuracy_m": self.rng.randint(5, 40),
        }
        body = {
            **self._envelope(now),
            "subject_id": walker.subject,
            "category": walker.category,
            "position": position,
        }
        return "sos", gateway, body

    def _analytics(self, now):
        device = self.rng.choice(self.devices["analytics"])[0]
        body = {
            **self._envelope(now),
            "rule": self.rng.choice(AnalyticsRule.values()),
            "confidence": round(self.rng.uniform(0.55, 0.99), 2),
        }
        return "analytics", device, body

    def _plate(self, now):
        device = self.rng.choice(self.devices["plate"])[0]
        plate, hotlist = self.rng.choice(self.hotlist)
        return "plate", device, {**self._envelope(now), "plate": plate, "hotlist": hotlist}


def demo_devices() -> tuple[dict[str, list[tuple[str, float, float, str]]], dict[str, str]]:
    """The active devices by kind (with a location) and their secrets."""
    from gwanje.situations.models import Device

    by_kind: dict[str, list] = {}
    secrets = {}
    for d in Device.objects.filter(is_active=True).exclude(secret="").select_related("site", "camera"):
        point = d.camera.point if d.camera else (d.site.point if d.site else None)
        lon, lat = point.coords if point else (127.04, 37.55)
        by_kind.setdefault(d.kind, []).append((d.device_id, lon, lat, d.camera.label if d.camera else ""))
        secrets[d.device_id] = d.secret
    return by_kind, secrets
