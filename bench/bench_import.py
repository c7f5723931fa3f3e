"""Camera-list import: a 100,000-row 전국CCTV표준데이터 file (quick: 10,000), first import and re-import

Points lie inside Seongdong's 행정동 (the deployment is loaded first, so departments and the
district polygon exist). "check s" is decoding, row validation and the merge with the registry;
"write s" is `bulk.upsert_sites`. Goal: total ≤ 10 s per import on each backend.
"""

from __future__ import annotations

import csv
import io
import random
import time

BACKENDS = ("spatialite", "postgis")
PURPOSES = [
    "생활방범",
    "차량방범",
    "교통단속",
    "교통정보수집",
    "어린이보호",
    "쓰레기단속",
    "시설물관리",
    "재난재해",
]
DIRECTIONS = ["북측", "남측", "동측", "서측", ""]


def make_file(rows: int, seed: int = 20260630) -> bytes:
    """A standard-format CSV (CP949, as districts publish) with `rows` distinct places in Seongdong."""
    from django.contrib.gis.geos import Point

    from gwanje.geo.models import AdminDong
    from gwanje.registry.formats.standard import COLUMNS

    rng = random.Random(seed)
    dongs = list(AdminDong.objects.order_by("code"))
    weights = [d.geom.area for d in dongs]
    prepared = [(d.geom.extent, d.geom.prepared) for d in dongs]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(COLUMNS)
    for i in range(rows):
        (minx, miny, maxx, maxy), prep = rng.choices(prepared, weights=weights)[0]
        while True:
            lon, lat = round(rng.uniform(minx, maxx), 6), round(rng.uniform(miny, maxy), 6)
            if prep.contains(Point(lon, lat, srid=4326)):
                break
        w.writerow([
            "서울특별시 성동구청", f"서울특별시 성동구 벤치마크로 {i + 1}", "", PURPOSES[i % len(PURPOSES)],
            1 + i % 4, rng.choice(["200", "400", ""]), DIRECTIONS[i % len(DIRECTIONS)], 30,
            f"{2010 + i % 15}-{1 + i % 12:02d}", "02-2286-5114", lat, lon, "2026-06-30", "3030000",
            "서울특별시 성동구",
        ])  # fmt: skip
    return buf.getvalue().encode("cp949")


class _Clock:
    """Progress hook that notes when the write phase starts."""

    def __init__(self) -> None:
        self.write_started: float | None = None

    def start(self, description: str, total: int) -> None:
        if description == "Writing sites" and self.write_started is None:  # run under English
            self.write_started = time.perf_counter()

    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _timed_import(data: bytes, label: str, rows: int, backend: str) -> dict:
    from django.utils import translation

    from gwanje.registry.formats import ImportOptions, import_cameras

    clock = _Clock()
    with translation.override("en"):
        t0 = time.perf_counter()
        report = import_cameras(data, ImportOptions(format="standard"), clock)
        took = time.perf_counter() - t0
    assert report.applied and not report.errors, report.errors[:5]
    check = (clock.write_started or t0) - t0
    s = report.summary()
    return {
        "backend": backend,
        "run": label,
        "rows": rows,
        "seconds": f"{took:.2f}",
        "check s": f"{check:.2f}",
        "write s": f"{took - check:.2f}",
        "rows/s": f"{rows / took:,.0f}",
        "sites created": s["sites_created"],
        "sites unchanged": s["sites_unchanged"],
        "cameras created": s["cameras_created"],
        "cameras unchanged": s["cameras_unchanged"],
        "goal ≤10 s": "ok" if took <= 10 else "MISSED",
    }


def run(backend: str, quick: bool) -> list[dict]:
    from gwanje import deployments
    from gwanje.registry.models import Camera, Site

    deployments.load("seongdong", log=lambda *a: None)
    rows = 10_000 if quick else 100_000
    data = make_file(rows)
    sites0, cameras0 = Site.objects.count(), Camera.objects.count()
    out = [_timed_import(data, "first import", rows, backend)]
    out.append(_timed_import(data, "re-import", rows, backend))
    assert Site.objects.count() - sites0 == rows, "re-import must not duplicate"
    assert Camera.objects.count() - cameras0 == sum(1 + i % 4 for i in range(rows))
    return out
