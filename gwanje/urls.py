from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog, set_language

urlpatterns = [
    path("", include("gwanje.geo.urls")),
    path("accounts/", include("gwanje.accounts.urls")),
    path("registry/", include("gwanje.registry.urls")),
    path("registry/import/", include("gwanje.registry.urls_import")),
    path("audit/", include("gwanje.audit.urls")),
    path("situations/", include("gwanje.situations.urls")),
    path("video/", include("gwanje.video.urls")),
    path("api/v1/", include("gwanje.api_urls")),
    path("admin/", admin.site.urls),
    path("i18n/setlang/", set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
]

handler400 = "gwanje.core.views.bad_request"
handler403 = "gwanje.core.views.permission_denied"
handler404 = "gwanje.core.views.page_not_found"
handler500 = "gwanje.core.views.server_error"
