"""The OpenAPI schema generates without warnings, Swagger UI is served locally to logged-in users,
and a bounded schemathesis run over every GET operation never gets a 5xx."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import hypothesis
import pytest
import schemathesis
from django.core.management import call_command
from django.test import Client
from hypothesis import HealthCheck, Phase
from schemathesis.generation import GenerationMode

from tests.api.conftest import API, assert_error

pytestmark = pytest.mark.django_db

# GET operations without parameters: nothing to make invalid.
PARAMETERLESS = {
    "GET /api/v1/layers/district/",
    "GET /api/v1/layers/dongs/",
    "GET /api/v1/layers/police-offices/",
    "GET /api/v1/layers/child-protection-zones/",
    "GET /api/v1/wall-layouts/",
}
MAX_EXAMPLES = 12  # per GET operation and generation mode: ~20 s in all


def test_schema_generates_without_warnings(tmp_path, seongdong):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text(encoding="utf-8")
    for path in ("/api/v1/cameras/nearest/", "/api/v1/layers/dongs/", "/api/v1/purpose-expansions/"):
        assert f"  {path}:" in text


def test_schema_endpoint_requires_login(api):
    assert_error(Client().get(f"{API}/schema/"), 401)
    r = api.get(f"{API}/schema/", {"format": "json"})
    assert r.status_code == 200
    schema = r.json()
    assert schema["openapi"].startswith("3.")
    nearest = schema["paths"]["/api/v1/cameras/nearest/"]["get"]
    params = {p["name"]: p for p in nearest["parameters"]}
    assert params["lat"]["required"] and params["lon"]["required"]
    assert params["n"]["schema"]["maximum"] == 100 and params["radius_m"]["schema"]["maximum"] == 50000
    assert {"department", "purpose", "kind", "status", "owner", "dong", "bbox", "q"} <= set(params)
    camera = schema["components"]["schemas"]["Camera"]["properties"]
    assert "main_stream_url" not in camera and "main_stream_url_redacted" in camera
    write = schema["components"]["schemas"]["CameraWriteRequest"]["properties"]
    assert write["main_stream_url"]["writeOnly"] is True


def test_swagger_ui_is_local_and_needs_login(api):
    r = Client().get(f"{API}/docs/")
    assert r.status_code == 302 and "/login/" in r["Location"]
    r = api.get(f"{API}/docs/")
    assert r.status_code == 200
    page = r.content.decode()
    refs = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page)
    assert refs and all(ref.startswith("/static/vendor/swagger-ui/") for ref in refs), refs
    for url in re.findall(r"""https?://[^\s"'<>)]+""", page):
        assert urlsplit(url).hostname in ("testserver", "localhost"), url
    assert '"validatorUrl": null' in page  # no badge from validator.swagger.io
    for ref in refs:
        assert api.get(ref).status_code == 200, ref


def test_schemathesis_get_operations_never_answer_5xx(client_for, system_admin, seongdong):
    client = client_for(system_admin)
    raw = client.get(f"{API}/schema/", {"format": "json"}).json()
    schema = schemathesis.openapi.from_dict(raw).include(method="GET")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    seen: list[tuple[str, int]] = []

    def send(case) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://testserver")
        url = urlsplit(kwargs["url"])
        params = {k: v for k, v in (kwargs.get("params") or {}).items() if v is not None}
        response = client.get(url.path, params)
        seen.append((case.operation.label, response.status_code))
        assert response.status_code < 500, (case.operation.label, url.path, params, response.content[:300])
        if response.status_code >= 400:
            assert set(response.json()) == {"errors"}, response.content[:300]

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis.settings(
                max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate],
            )  # fmt: skip
            def run(case) -> None:
                send(case)

            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                # nothing to make invalid (an operation without parameters)
                assert mode is GenerationMode.NEGATIVE and operation.label in PARAMETERLESS, operation.label
    assert any(status == 200 for _label, status in seen)
    assert any(400 <= status < 500 for _label, status in seen)


WRITE_EXAMPLES = 8  # per write operation and generation mode


def test_schemathesis_write_operations_never_answer_5xx(client_for, system_admin, seongdong):
    """POST/PUT/PATCH/DELETE with generated bodies (valid and invalid) as a system administrator,
    who may call every operation: every answer is < 500 and every 4xx has the error body."""
    import contextlib
    import json
    from urllib.parse import urlencode

    client = client_for(system_admin)
    raw = client.get(f"{API}/schema/", {"format": "json"}).json()
    schema = schemathesis.openapi.from_dict(raw).exclude(method="GET")
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {op.label for op in operations}
    assert {"POST /api/v1/grants/", "POST /api/v1/incidents/", "PATCH /api/v1/cameras/{id}/"} <= labels, (
        labels
    )
    seen: list[int] = []

    def send(case) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://testserver")
        url = urlsplit(kwargs["url"])
        params = {k: v for k, v in (kwargs.get("params") or {}).items() if v is not None}
        body = kwargs.get("json")
        response = client.generic(
            case.method.upper(),
            url.path,
            data=json.dumps(body) if body is not None else "",
            content_type="application/json",
            QUERY_STRING=urlencode(params, doseq=True),
        )
        seen.append(response.status_code)
        assert response.status_code < 500, (case.operation.label, url.path, body, response.content[:300])
        if response.status_code >= 400 and response.status_code != 405:
            assert set(response.json()) == {"errors"}, response.content[:300]

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis.settings(
                max_examples=WRITE_EXAMPLES, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate],
            )  # fmt: skip
            def run(case) -> None:
                send(case)

            with contextlib.suppress(hypothesis.errors.Unsatisfiable):  # nothing to make invalid
                run()
    assert any(400 <= status < 500 for status in seen)
