"""Security headers every response carries (Django's SecurityMiddleware sets HSTS, nosniff,
Referrer-Policy and COOP; X-Frame-Options comes from its own middleware)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings


def content_security_policy(*, inline_scripts: bool = False) -> str:
    """Same-origin everything; inline style attributes allowed (status colours, OpenLayers), inline
    scripts only where a page cannot avoid them (Swagger UI's bootstrap)."""
    img = ["'self'", "data:", "blob:"]
    if settings.TILE_URL:
        parts = urlsplit(settings.TILE_URL.replace("{", "").replace("}", ""))
        if parts.scheme and parts.netloc:
            img.append(f"{parts.scheme}://{parts.netloc.split('@')[-1]}")
    script = "'self' 'unsafe-inline'" if inline_scripts else "'self'"
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {script}",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {' '.join(img)}",
            "connect-src 'self'",
            "media-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.csp = content_security_policy()

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.csp)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if request.user.is_authenticated if hasattr(request, "user") else False:
            # Pages with personal information are not kept by the browser or proxies.
            response.headers.setdefault("Cache-Control", "no-store")
        return response
