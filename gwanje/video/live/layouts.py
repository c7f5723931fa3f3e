"""Video-wall layouts: the writes (DESIGN rule 1) and the camera lookups of the wall page.

A layout belongs to one user: a name (unique per user), a grid of 1, 4, 9 or 16 cells, and per cell
a camera id or null. Cameras are checked against what the user may see (registry.view scope); the
video itself is authorized per tile when the live socket opens.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils.translation import gettext as _

from gwanje.core import permissions
from gwanje.video.models import WallLayout

GRIDS = (1, 4, 9, 16)
MAX_NAME = 60


def visible_cameras(user):
    from gwanje.registry.models import Camera

    return permissions.restrict(user, "registry.view", Camera.objects.all())


def _has_stream() -> Q:
    return ~Q(main_stream_url="") | ~Q(sub_stream_url="")


def camera_rows(user, *, q: str = "", ids: list[int] | None = None, limit: int = 100) -> list[dict]:
    """Cameras for the wall's side list (text filter) or for the cells of a layout (ids): those with
    a stream first, then by site code and number."""
    from gwanje.registry.choices import CameraStatus

    qs = visible_cameras(user).select_related("site")
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    q = " ".join((q or "").split())
    if q:
        qs = qs.filter(
            Q(site__code__icontains=q)
            | Q(site__name__icontains=q)
            | Q(site__road_address__icontains=q)
            | Q(site__jibun_address__icontains=q)
        )
    qs = qs.annotate(
        streamable=Case(When(_has_stream(), then=Value(0)), default=Value(1), output_field=IntegerField())
    ).order_by("streamable", "site__code", "number")
    rows = []
    for camera in qs[:limit]:
        rows.append(
            {
                "id": camera.pk,
                "label": str(camera),
                "name": camera.site.name,
                "status": camera.status,
                "status_label": str(CameraStatus.label(camera.status)),
                "status_colour": CameraStatus.colour(camera.status),
                "live": camera.streamable == 0,
            }
        )
    return rows


def clean_cells(user, grid: int, cells: list) -> list[int | None]:
    """`cells` padded or cut to the grid; every camera id one the user may see."""
    if grid not in GRIDS:
        raise ValidationError({"grid": _("The layout must have 1, 4, 9 or 16 cells.")})
    if not isinstance(cells, list):
        raise ValidationError({"cells": _("Cells must be a list of camera ids or nulls.")})
    if len(cells) > grid:
        raise ValidationError({"cells": _("More cameras than cells in the layout.")})
    out: list[int | None] = []
    for value in cells:
        if value is None:
            out.append(None)
        elif isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
            out.append(value)
        else:
            raise ValidationError({"cells": _("Cells must be a list of camera ids or nulls.")})
    wanted = {v for v in out if v is not None}
    if wanted:
        found = set(visible_cameras(user).filter(pk__in=wanted).values_list("pk", flat=True))
        missing = sorted(wanted - found)
        if missing:
            raise ValidationError(
                {"cells": _("No such camera: %(ids)s.") % {"ids": ", ".join(str(m) for m in missing)}}
            )
    return out + [None] * (grid - len(out))


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the layout a name.")})
    if len(name) > MAX_NAME:
        raise ValidationError({"name": _("A layout name has at most %(n)s characters.") % {"n": MAX_NAME}})
    return name


def save_layout(*, user, name: str, grid: int, cells: list, layout: WallLayout | None = None) -> WallLayout:
    """Create (layout None) or replace a layout of `user`."""
    permissions.require(user, "video.live")
    name = _clean_name(name)
    cells = clean_cells(user, grid, cells)
    if layout is not None and layout.user_id != user.pk:
        raise ValidationError(_("This layout belongs to another user."))
    clash = WallLayout.objects.filter(user=user, name=name)
    if layout is not None:
        clash = clash.exclude(pk=layout.pk)
    if clash.exists():
        raise ValidationError({"name": _("You already have a layout with this name.")})
    layout = layout or WallLayout(user=user)
    layout.name, layout.grid, layout.cells = name, grid, cells
    try:
        with transaction.atomic():
            layout.save()
    except IntegrityError:  # the same name saved at the same moment from another tab
        raise ValidationError({"name": _("You already have a layout with this name.")}) from None
    return layout


def delete_layout(*, user, layout: WallLayout) -> None:
    permissions.require(user, "video.live")
    if layout.user_id != user.pk:
        raise ValidationError(_("This layout belongs to another user."))
    layout.delete()
