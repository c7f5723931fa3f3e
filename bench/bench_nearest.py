"""Nearest cameras: gwanje.geo.queries.nearest(n=10) over cameras spread across Seoul (p50/p99, exactness)

For each size, ~300 random query points are timed (after warm-up); on 30 of them the 10 ids and
distances are checked against brute force (pyproj's geodesic over every camera): same ids in the same
order (cameras at equal distance may swap) and distances within 1 cm. At the first size the full API
call (test client GET /api/v1/cameras/nearest/) is timed too.
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import percentile, timed

# Django and gwanje are imported inside the functions: `python -m bench` imports this module
# before Django is set up (to read BACKENDS and the title); run() executes in a set-up child.
BACKENDS = ("spatialite", "postgis")

LAT = (37.43, 37.70)
LON = (126.76, 127.18)
QUERIES = 300
EXACT_QUERIES = 30
API_QUERIES = 100
CAMERAS_PER_SITE = 4
BATCH = 5000
TOLERANCE_M = 0.01
SEED = 20260301


def _insert_sql(model, fixed: dict, varying: dict[str, str]) -> tuple[str, list]:
    """An INSERT of every concrete column of `model`: the `varying` fields (name -> SQL placeholder)
    first, then every other column with its value in `model(**fixed)` (defaults, auto_now),
    prepared once. Built from the model, so a column added later cannot be forgotten."""
    from django.db import connection

    template = model(**fixed)
    qn = connection.ops.quote_name
    cols, marks, consts = [], [], []
    fields = model._meta.concrete_fields
    for f in [f for f in fields if f.name in varying] + [f for f in fields if f.name not in varying]:
        if f.primary_key and f.name not in varying:
            continue
        cols.append(qn(f.column))
        if f.name in varying:
            marks.append(varying[f.name])
        else:
            marks.append("%s")
            consts.append(f.get_db_prep_save(f.pre_save(template, add=True), connection))
    sql = f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(cols)}) VALUES ({', '.join(marks)})"  # noqa: S608
    return sql, consts


def _fill(department, start: int, stop: int, rng: random.Random) -> float:
    """Cameras start..stop-1 (4 per site, each at its own random point) by executemany; returns
    the seconds taken (the R*Tree / GiST indexes are maintained as rows go in)."""
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from gwanje.registry.choices import Purpose
    from gwanje.registry.models import Camera, Site

    point = (
        "MakePoint(%s, %s, 4326)"
        if connection.vendor == "sqlite"
        else "ST_SetSRID(ST_MakePoint(%s, %s), 4326)"
    )
    site_sql, site_consts = _insert_sql(
        Site, {"department": department, "is_synthetic": True}, {"id": "%s", "code": "%s", "point": point}
    )
    camera_sql, camera_consts = _insert_sql(
        Camera, {"primary_purpose": Purpose.CRIME_PREVENTION}, {"site": "%s", "number": "%s", "point": point}
    )
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM registry_site")
        next_site = cursor.fetchone()[0] + 1
        for lo in range(start, stop, BATCH):
            hi = min(stop, lo + BATCH)
            pts = [(rng.uniform(*LON), rng.uniform(*LAT)) for _ in range(lo, hi)]
            sites, cameras = [], []
            for i, (x, y) in enumerate(pts, start=lo):
                if i % CAMERAS_PER_SITE == 0:
                    sites.append([next_site, f"B{i:07d}", x, y, *site_consts])
                    next_site += 1
                cameras.append([next_site - 1, i % CAMERAS_PER_SITE + 1, x, y, *camera_consts])
            with transaction.atomic():
                cursor.executemany(site_sql, sites)
                cursor.executemany(camera_sql, cameras)
        for sql in connection.ops.sequence_reset_sql(no_style(), [Site, Camera]):
            cursor.execute(sql)
    _analyze()
    return time.perf_counter() - t0


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _all_points() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from django.db import connection

    x, y = ("ST_X", "ST_Y") if connection.vendor == "postgresql" else ("X", "Y")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {x}(point), {y}(point) FROM registry_camera")  # noqa: S608
        rows = cursor.fetchall()
    arr = np.array(rows, dtype=np.float64)
    return arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2]


_BRUTE = """
import sys
import numpy as np
from pyproj import Geod

data = np.load(sys.argv[1])
ids, lons, lats, queries = data["ids"], data["lons"], data["lats"], data["queries"]
geod = Geod(ellps="WGS84")
top_ids, top_d = [], []
for lon, lat in queries:
    _az, _baz, dist = geod.inv(np.full_like(lons, lon), np.full_like(lats, lat), lons, lats)
    order = np.lexsort((ids, dist))[:20]
    top_ids.append(ids[order])
    top_d.append(dist[order])
np.savez(sys.argv[2], ids=np.array(top_ids), dist=np.array(top_d))
"""


def _brute_force(points: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """The 20 nearest (ids, distances) of each point by pyproj over every camera.

    Runs in a subprocess: importing pyproj into a process that has already loaded SpatiaLite (and
    its system PROJ) makes the interpreter abort at exit ("free(): invalid pointer").
    """
    ids, lons, lats = _all_points()
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(src, ids=ids, lons=lons, lats=lats, queries=np.array(points))
        subprocess.run([sys.executable, "-c", _BRUTE, str(src), str(out)], check=True)
        result = np.load(out)
        return result["ids"], result["dist"]


def _exact(points: list[tuple[float, float]]) -> str:
    """How many query points get exactly the brute-force answer (see the module docstring)."""
    from gwanje.geo.queries import nearest
    from gwanje.registry.models import Camera

    top_ids, top_d = _brute_force(points)
    ok = 0
    for (lon, lat), bids, bdist in zip(points, top_ids, top_d, strict=True):
        hits = nearest(Camera.objects.all(), lon, lat, n=10)
        truth = dict(zip(bids.tolist(), bdist.tolist(), strict=True))
        good = len(hits) == 10
        for i, hit in enumerate(hits):
            # the distance reported is right, and it has the right rank
            good &= hit.obj.pk in truth and abs(hit.distance_m - truth[hit.obj.pk]) < TOLERANCE_M
            good &= abs(hit.distance_m - bdist[i]) < TOLERANCE_M
        must = {int(pk) for pk, d in zip(bids[:10], bdist[:10], strict=True) if d < bdist[9] - TOLERANCE_M}
        good &= must <= {h.obj.pk for h in hits}
        ok += bool(good)
    return f"{ok}/{len(points)}"


def _api_ms(points: list[tuple[float, float]], department) -> dict[str, str]:
    from django.test import Client

    from gwanje.accounts import services as accounts
    from gwanje.accounts.roles import Role

    accounts.ensure_roles()
    user = accounts.create_user(
        username="bench-agent", organisation=department, roles=[Role.MONITORING_AGENT]
    )
    client = Client()
    client.force_login(user)
    it = iter(points * 2)

    def call() -> None:
        lon, lat = next(it)
        r = client.get("/api/v1/cameras/nearest/", {"lat": lat, "lon": lon, "n": 10})
        assert r.status_code == 200 and r.json()["count"] == 10, r.content[:300]

    samples = timed(call, repeat=API_QUERIES, warmup=5)
    return {"api p50 ms": f"{percentile(samples, 0.5):.2f}", "api p99 ms": f"{percentile(samples, 0.99):.2f}"}


def run(backend: str, quick: bool) -> list[dict]:
    from gwanje.accounts import services as accounts
    from gwanje.accounts.choices import OrganisationKind
    from gwanje.geo.queries import nearest
    from gwanje.registry.models import Camera

    sizes = (10_000, 100_000) if quick else (100_000, 1_000_000)
    rng = random.Random(SEED)
    department = accounts.upsert_organisation(
        code="bench-dept", name="벤치 부서", kind=OrganisationKind.DEPARTMENT
    )
    rows: list[dict] = []
    have = 0
    for size in sizes:
        fill_s = _fill(department, have, size, rng)
        have = size
        qrng = random.Random(SEED + size)
        points = [(qrng.uniform(*LON), qrng.uniform(*LAT)) for _ in range(QUERIES)]
        it = iter(points)

        def query(it=it) -> None:
            lon, lat = next(it)
            nearest(Camera.objects.all(), lon, lat, n=10)

        timed(lambda: nearest(Camera.objects.all(), 127.0, 37.55, n=10), repeat=0, warmup=10)
        samples = timed(query, repeat=QUERIES, warmup=0)
        row = {
            "backend": backend,
            "cameras": f"{size:,}",
            "insert s": f"{fill_s:.0f}",
            "p50 ms": f"{percentile(samples, 0.5):.2f}",
            "p99 ms": f"{percentile(samples, 0.99):.2f}",
            "queries": str(len(samples)),
            "exact": _exact(points[:EXACT_QUERIES]),
        }
        if size == 100_000:
            row.update(_api_ms(points, department))
        rows.append(row)
    return rows
