from django.conf import settings

from gwanje.core import permissions


def gwanje(request):
    user = getattr(request, "user", None)
    return {
        "gwanje_tile_url": settings.TILE_URL,
        "can": permissions.ActionsFor(user),
    }
