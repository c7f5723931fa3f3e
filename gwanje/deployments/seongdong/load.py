"""Seongdong-gu: departments, police, map layers and Annex 1's inventory (524 sites, 1,069 cameras).

Annex 1 gives counts, not places: sites are put at deterministic pseudo-random points inside the
real 행정동 polygons (weighted by area), flagged synthetic, with no street address. Secondary
purposes are loaded *inactive*: Annex 1 lists the intended uses but no purpose-expansion
procedure (Art. 2②); they become usable once such a record is entered.
"""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point, Polygon
from django.db import transaction

from gwanje.accounts import services as accounts
from gwanje.accounts.choices import OrganisationKind as K
from gwanje.accounts.models import Organisation
from gwanje.geo import services as geo
from gwanje.geo.models import AdminDong, District
from gwanje.geo.queries import DongLocator
from gwanje.registry.bulk import CameraSpec, SiteSpec, upsert_sites
from gwanje.registry.choices import CameraKind, Owner, Purpose, Source
from gwanje.registry.models import Site
from gwanje.situations.services.devices import seed_demo_devices
from gwanje.situations.services.duties import seed_defaults as seed_duties

DATA = Path(__file__).resolve().parent / "data"
SEED = 20141030  # the agreement's date: placement is the same on every machine

DISTRICT_OFFICE = ("seongdong-gu", "성동구청")
DEPARTMENTS = [
    ("seongdong-autonomous-admin", "자치행정과"),
    ("seongdong-traffic-guidance", "교통지도과"),
    ("seongdong-traffic-admin", "교통행정과"),
    ("seongdong-parks", "공원녹지과"),
    ("seongdong-sanitation", "청소행정과"),
    ("seongdong-it", "전산정보과"),
]
POLICE_STATION = ("seongdong-police", "성동경찰서")
POLICE_UNITS = [("seongdong-police-112", "112종합상황실")]
CONTRACTORS = [("seongdong-maintenance", "CCTV 유지보수 용역업체")]


def is_loaded() -> bool:
    return Site.objects.filter(source=Source.DEPLOYMENT, code__startswith="SD-A").exists()


def _organisations() -> dict[str, Organisation]:
    by_name: dict[str, Organisation] = {}
    office = accounts.upsert_organisation(
        code=DISTRICT_OFFICE[0], name=DISTRICT_OFFICE[1], kind=K.DISTRICT_OFFICE, phone="02-2286-5114"
    )
    by_name[office.name] = office
    for code, name in DEPARTMENTS:
        by_name[name] = accounts.upsert_organisation(code=code, name=name, kind=K.DEPARTMENT, parent=office)
    police = accounts.upsert_organisation(
        code=POLICE_STATION[0], name=POLICE_STATION[1], kind=K.POLICE_STATION
    )
    by_name[police.name] = police
    for code, name in POLICE_UNITS:
        by_name[name] = accounts.upsert_organisation(code=code, name=name, kind=K.POLICE_UNIT, parent=police)
    for code, name in CONTRACTORS:
        by_name[name] = accounts.upsert_organisation(code=code, name=name, kind=K.CONTRACTOR)
    return by_name


def _multipolygon(geometry: dict) -> MultiPolygon:
    geom = GEOSGeometry(json.dumps(geometry), srid=4326)
    if isinstance(geom, Polygon):
        geom = MultiPolygon(geom, srid=4326)
    return geom


def _layers() -> District:
    gu = json.loads((DATA / "seongdong-gu.geojson").read_text(encoding="utf-8"))["features"][0]
    district = geo.upsert_district(
        code=gu["properties"]["SIG_CD"],
        name=gu["properties"]["SIG_KOR_NM"],
        name_en=gu["properties"]["SIG_ENG_NM"],
        geom=_multipolygon(gu["geometry"]),
    )
    dongs = json.loads((DATA / "seongdong-dong.geojson").read_text(encoding="utf-8"))["features"]
    for f in dongs:
        p = f["properties"]
        geo.upsert_dong(
            code=p["adm_cd2"],
            name=p["adm_nm"].split()[-1],
            full_name=p["adm_nm"],
            district=district,
            geom=_multipolygon(f["geometry"]),
        )
    with open(DATA / "seongdong-police-offices.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            address = row["address"].strip()
            match = re.search(r"\s(\S+(?:지구대|파출소|치안센터))$", address)
            name = match.group(1) if match else f"경찰관서 ({address.replace('서울특별시 성동구 ', '')})"
            geo.upsert_police_office(
                name=name, address=address, point=Point(float(row["lon"]), float(row["lat"]), srid=4326)
            )
    with open(DATA / "seongdong-child-protection-zones.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            geo.upsert_child_protection_zone(
                external_id=row["id"],
                facility_name=row["facility_name"],
                facility_kind=row["facility_kind"],
                address=row["address"],
                point=Point(float(row["lon"]), float(row["lat"]), srid=4326),
            )
    return district


def _random_point(
    rng: random.Random, dongs: list[AdminDong], weights: list[float]
) -> tuple[AdminDong, Point]:
    dong = rng.choices(dongs, weights=weights)[0]
    prepared = dong.geom.prepared
    minx, miny, maxx, maxy = dong.geom.extent
    while True:
        p = Point(round(rng.uniform(minx, maxx), 6), round(rng.uniform(miny, maxy), 6), srid=4326)
        if prepared.contains(p):
            return dong, p


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def inventory_specs(orgs: dict[str, Organisation]) -> list[SiteSpec]:
    annex = json.loads((DATA / "annex1.json").read_text(encoding="utf-8"))
    dongs = list(AdminDong.objects.order_by("code"))
    weights = [d.geom.area for d in dongs]
    rng = random.Random(SEED)
    specs: list[SiteSpec] = []
    for row in annex["rows"]:
        dept = orgs[row["department"]]
        counts = _split(row["cameras"], row["sites"])
        rng.shuffle(counts)
        for i, n_cameras in enumerate(counts, start=1):
            dong, point = _random_point(rng, dongs, weights)
            # "SD-" keeps synthetic codes apart from real ones (안심이 codes look like C318, G025)
            code = f"SD-{row['prefix']}{i:03d}"
            cameras = [
                CameraSpec(
                    number=n,
                    primary_purpose=row["primary"],
                    kind=CameraKind.PTZ if (n == 1 and n_cameras > 1) else CameraKind.FIXED,
                    secondary=list(row["secondary"]),
                )
                for n in range(1, n_cameras + 1)
            ]
            specs.append(
                SiteSpec(
                    code=code,
                    name=f"{dong.name} {row['label']} {i:03d}",
                    point=point,
                    department=dept,
                    owner=row.get("owner", Owner.DISTRICT),
                    is_mobile=bool(row.get("mobile")),
                    has_onsite_storage=bool(row.get("onsite_storage")),
                    notes=(
                        f"협약서 별표1 {row['row']}행 ({row['label']}) 기준 가상 배치 — 실제 설치 위치 아님"
                    ),
                    is_synthetic=True,
                    source=Source.DEPLOYMENT,
                    cameras=cameras,
                )
            )
    return specs


DEMO_BELLS = 40


def _demo_bells(specs: list[SiteSpec]) -> None:
    """Emergency bells (영상비상벨) at 40 crime-prevention sites, chosen by a separate seeded
    generator (the placement's own sequence is untouched); the demo's bell devices sit there."""
    crime = [
        s
        for s in specs
        if s.cameras and s.cameras[0].primary_purpose == Purpose.CRIME_PREVENTION and not s.has_onsite_storage
    ]
    for spec in random.Random(SEED + 1).sample(crime, min(DEMO_BELLS, len(crime))):
        spec.has_emergency_bell = True


@transaction.atomic
def load(log=print) -> dict:
    accounts.ensure_roles()
    orgs = _organisations()
    _layers()
    specs = inventory_specs(orgs)
    _demo_bells(specs)
    result = upsert_sites(specs, locator=DongLocator())
    devices = seed_demo_devices()
    seed_duties()  # Annex 2
    summary = {"organisations": Organisation.objects.count(), **result.as_dict(), "event_devices": devices}
    log(f"seongdong: {summary}")
    return summary
