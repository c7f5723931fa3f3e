from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from gwanje.core import permissions


@login_required
def console(request):
    permissions.require(request.user, "registry.view")
    return render(request, "geo/console.html", {})
