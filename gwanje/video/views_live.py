"""Live-view pages: the video wall and the single-camera live page, plus the wall's camera lookup.

The pages only lay out <video> elements; the video comes over the live socket
(/ws/live/<camera>/<stream>/, gwanje.video.live.websocket), which authorizes each camera and writes
the access log when it opens. These views write nothing.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from gwanje.core import access, permissions
from gwanje.video.live import layouts

MAX_IDS = 16


def _int_or_none(raw: str | None) -> int | None:
    try:
        value = int((raw or "").strip())
    except ValueError:
        return None
    return value if 0 < value < 2**63 else None


@permissions.requires("video.live")
@require_GET
def wall(request):
    """The video wall: 1/4/9/16 tiles, cameras from the side list or `?camera=<id>` (the map's
    "open on the wall" link puts that camera into the first free tile)."""
    camera_id = _int_or_none(request.GET.get("camera"))
    add = layouts.camera_rows(request.user, ids=[camera_id]) if camera_id else []
    config = {
        "camerasUrl": reverse("video:wall_cameras"),
        "layoutsUrl": reverse("api-wall-layout-list"),
        "liveUrl": reverse("video:live", args=[0]).replace("/0/", "/{id}/"),
        "addCamera": add[0] if add else None,
        "grids": list(layouts.GRIDS),
        "user": request.user.pk,
    }
    context = {
        "config": config,
        "cameras": layouts.camera_rows(request.user, limit=100),
        "grids": layouts.GRIDS,
        "missing_camera": bool(camera_id) and not add,
    }
    return render(request, "video/wall.html", context)


@permissions.requires("video.live")
@require_GET
def live(request, camera_id: int):
    """One camera, main stream, full width (sub stream on request)."""
    camera = access.visible_or_404(
        request, layouts.visible_cameras(request.user).select_related("site"), camera_id
    )
    stream = "sub" if request.GET.get("stream") == "sub" else "main"
    return render(request, "video/live.html", {"camera": camera, "site": camera.site, "stream": stream})


@permissions.requires("video.live")
@require_GET
def wall_cameras(request):
    """JSON for the wall's side list: `?q=` text over site code, name and address (100 at most), or
    `?ids=1,2,3` (the cameras of a layout, 16 at most)."""
    raw_ids = request.GET.get("ids")
    if raw_ids is not None:
        parts = [p for p in raw_ids.split(",") if p.strip()]
        ids = [_int_or_none(p) for p in parts]
        if len(ids) > MAX_IDS or any(i is None for i in ids):
            message = _("ids must be at most %(n)s camera ids separated by commas.") % {"n": MAX_IDS}
            return JsonResponse(
                {"errors": [{"field": "ids", "code": "invalid", "message": message}]}, status=400
            )
        return JsonResponse({"results": layouts.camera_rows(request.user, ids=ids, limit=MAX_IDS)})
    q = request.GET.get("q", "")[:100]
    return JsonResponse({"results": layouts.camera_rows(request.user, q=q, limit=100)})
