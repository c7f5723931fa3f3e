"""The map console (the home page after login) and its compact camera endpoint.

The console draws every camera the user may see. At 100,000 cameras the browser must render in
under 3 s, so the map does not use the REST API's GeoJSON: `map_cameras` returns compact rows
`[id, lon, lat, status_index, kind_index]` straight from `.values_list()` (no model instances),
filtered by the same CameraFilterSet as the camera list and the API (DESIGN rule 5).
"""

from __future__ import annotations

import gzip
import json

from django.conf import settings
from django.contrib.gis.db.models import Extent
from django.db import connection
from django.db.models import CharField
from django.db.models.expressions import RawSQL
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import get_script_prefix, reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from gwanje.core import permissions
from gwanje.geo.models import District
from gwanje.registry.choices import CameraKind, CameraStatus
from gwanje.registry.filters import CameraFilterSet
from gwanje.registry.models import Camera
from gwanje.registry.views import filter_context

FIELDS = ["id", "lon", "lat", "status", "kind"]
GZIP_MIN_BYTES = 8192
SEOUL_EXTENT = (126.76, 37.41, 127.19, 37.71)  # when no district is loaded yet

# Map layers and the nearest-camera search are served by the REST API (gwanje.geo.api).
API_PATHS = {
    "district": "api/v1/layers/district/",
    "dongs": "api/v1/layers/dongs/",
    "police": "api/v1/layers/police-offices/",
    "zones": "api/v1/layers/child-protection-zones/",
    "nearest": "api/v1/cameras/nearest/",
}


def _row_sql(statuses: list[str], kinds: list[str]) -> RawSQL:
    """One camera's compact row as JSON text, formatted by the database: building 100,000 rows
    in Python (floats through json.dumps) costs more than the query itself."""
    qn = connection.ops.quote_name
    table = qn(Camera._meta.db_table)
    col = {f: f"{table}.{qn(Camera._meta.get_field(f).column)}" for f in ("id", "point", "status", "kind")}
    status_case = "CASE " + col["status"] + " WHEN %s THEN %s " * len(statuses) + "ELSE 0 END"
    kind_case = "CASE " + col["kind"] + " WHEN %s THEN %s " * len(kinds) + f"ELSE {len(kinds) - 1} END"
    params = [x for i, v in enumerate(statuses) for x in (v, i)] + [
        x for i, v in enumerate(kinds) for x in (v, i)
    ]
    x, y = f"ST_X({col['point']})", f"ST_Y({col['point']})"
    if connection.vendor == "postgresql":
        # Rounded as float8 (printed shortest round-trip), ~2x faster than numeric rounding.
        x6, y6 = f"round({x} * 1e6) / 1e6", f"round({y} * 1e6) / 1e6"
        sql = f"format(%s, {col['id']}, {x6}, {y6}, {status_case}, {kind_case})"
        fmt = "[%s,%s,%s,%s,%s]"
    else:  # SpatiaLite
        sql = f"printf(%s, {col['id']}, {x}, {y}, {status_case}, {kind_case})"
        fmt = "[%d,%.6f,%.6f,%d,%d]"
    # Only column names from the model's metadata are interpolated; values are parameters.
    return RawSQL(sql, [fmt, *params], output_field=CharField())  # noqa: S611


def _visible_cameras(user):
    return permissions.restrict(user, "registry.view", Camera.objects.all())


def _initial_extent() -> list[float]:
    extent = District.objects.aggregate(e=Extent("geom"))["e"]
    return [round(v, 6) for v in (extent or SEOUL_EXTENT)]


@permissions.requires("registry.view")
@require_GET
def console(request):
    filterset = CameraFilterSet(request.GET or None, queryset=_visible_cameras(request.user), request=request)
    prefix = get_script_prefix()
    config = {
        "camerasUrl": reverse("map-cameras"),
        "cardUrl": reverse("registry:camera_detail", args=[0]).replace("/0/", "/{id}/"),
        "listUrl": reverse("registry:camera_list"),
        "layers": {name: prefix + path for name, path in API_PATHS.items() if name != "nearest"},
        "nearestUrl": prefix + API_PATHS["nearest"],
        "extent": _initial_extent(),
        "tileUrl": settings.TILE_URL,
        "tileAttribution": settings.TILE_ATTRIBUTION,
        "fields": FIELDS,
        "incidents": _incident_config(request.user),
    }
    context = {
        **filter_context(filterset),
        "console_config": config,
        "status_legend": CameraStatus.legend(),
        "kind_legend": CameraKind.legend(),
    }
    return render(request, "geo/console.html", context)


def _incident_config(user) -> dict | None:
    """What the console's incident queue needs (static/js/incident-queue.js); None without
    incidents.view (the panel is not shown)."""
    if not permissions.allowed(user, "incidents.view"):
        return None
    from gwanje.situations.choices import Action, Party, UtilisationResult
    from gwanje.situations.services.workflow import parties_of

    detail = reverse("api-incident-detail", args=[0])
    return {
        "listUrl": reverse("api-incident-list") + "?open=1&page_size=500",
        "detailUrl": detail.replace("/0/", "/{id}/"),
        "actUrl": detail.replace("/0/", "/{id}/") + "act/",
        "pageUrl": reverse("situations:incident_detail", args=[0]).replace("/0/", "/{id}/"),
        "wallUrl": reverse("video:wall") + "?camera={id}" if permissions.allowed(user, "video.live") else "",
        "socketPath": "/ws/console/",
        "parties": sorted(parties_of(user)),
        "partyLabels": {p["value"]: p["label"] for p in Party.legend()},
        "actions": {a["value"]: a["label"] for a in Action.legend()},
        "results": UtilisationResult.legend(),
    }


def _error_response(status: int, errors: list[dict]) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=status)


def _form_errors(form) -> list[dict]:
    out = []
    for field, errors in form.errors.get_json_data().items():
        for e in errors:
            out.append(
                {
                    "field": None if field == "__all__" else field,
                    "code": e["code"] or "invalid",
                    "message": e["message"],
                }
            )
    return out


@permissions.declares("registry.view")
@require_GET
def map_cameras(request):
    """GET /map/cameras.json?<CameraFilterSet params> → {"fields", "statuses", "kinds", "count", "rows"}.

    `status` and `kind` in each row are indexes into the response's "statuses" / "kinds" lists
    (the values of CameraStatus / CameraKind). Coordinates are WGS84, 6 decimals (~0.1 m).
    """
    user = request.user
    if not user.is_authenticated:
        return _error_response(
            403, [{"field": None, "code": "not_authenticated", "message": _("Log in to see the cameras.")}]
        )
    if not permissions.allowed(user, "registry.view"):
        return _error_response(
            403,
            [
                {
                    "field": None,
                    "code": "permission_denied",
                    "message": _("You do not have permission for this action."),
                }
            ],
        )
    filterset = CameraFilterSet(request.GET, queryset=_visible_cameras(user), request=request)
    if not filterset.is_valid():
        return _error_response(400, _form_errors(filterset.form))
    statuses = CameraStatus.values()
    kinds = CameraKind.values()
    rows = list(
        filterset.qs.order_by("id").annotate(_row=_row_sql(statuses, kinds)).values_list("_row", flat=True)
    )
    head = json.dumps(
        {"fields": FIELDS, "statuses": statuses, "kinds": kinds, "count": len(rows)}, separators=(",", ":")
    )
    body = f'{head[:-1]},"rows":[{",".join(rows)}]}}'
    data = body.encode()
    gzipped = "gzip" in request.headers.get("Accept-Encoding", "") and len(data) > GZIP_MIN_BYTES
    if gzipped:  # 3.3 MB → 1 MB at 100,000 cameras for ~30 ms (level 1)
        data = gzip.compress(data, compresslevel=1, mtime=0)
    response = HttpResponse(data, content_type="application/json")
    if gzipped:
        response["Content-Encoding"] = "gzip"
    patch_vary_headers(response, ("Accept-Encoding",))
    response["Cache-Control"] = "private, no-cache"
    return response
