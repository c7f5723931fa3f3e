"""Helpers of the REST API tests: clients per role, paging through lists, the error body."""

from __future__ import annotations

import pytest
from django.test import Client

from gwanje.accounts.roles import Role

API = "/api/v1"


def errors(response) -> list[dict]:
    """The `errors` list of a 4xx response, after checking the body has the one error shape."""
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"errors"}, body
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"field", "code", "message"}, error
        assert isinstance(error["message"], str) and error["message"]
    return body["errors"]


def assert_error(response, status: int, field: str | None = ...) -> list[dict]:
    assert response.status_code == status, (response.status_code, response.content[:500])
    errs = errors(response)
    if field is not ...:
        assert field in {e["field"] for e in errs}, errs
    return errs


def all_results(client: Client, path: str, params: dict | None = None) -> list[dict]:
    """Every row of a paginated list (page_size 1000, following `next`)."""
    out: list[dict] = []
    page = 1
    while True:
        r = client.get(path, {**(params or {}), "page_size": 1000, "page": page})
        assert r.status_code == 200, (r.status_code, r.content[:500])
        body = r.json()
        out += body["results"]
        if not body["next"]:
            assert body["count"] == len(out)
            return out
        page += 1


def ids(client: Client, path: str, params: dict | None = None) -> set[int]:
    return {row["id"] for row in all_results(client, path, params)}


@pytest.fixture
def api(client_for, agent) -> Client:
    """A monitoring agent's session: reads the whole registry, writes nothing."""
    return client_for(agent)


@pytest.fixture
def admin_api(client_for, it_admin) -> Client:
    """An IT administrator's session: changes and deletes the registry, records purpose expansions."""
    return client_for(it_admin)


@pytest.fixture
def parks_api(client_for, parks_manager) -> Client:
    return client_for(parks_manager)


@pytest.fixture
def police_api(client_for, police_officer) -> Client:
    return client_for(police_officer)


@pytest.fixture
def system_admin(make_user):
    return make_user(Role.SYSTEM_ADMIN)
