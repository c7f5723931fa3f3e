"""The import in the browser: upload → preview (dry run) → confirm, with permissions."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from gwanje.accounts.models import Organisation
from gwanje.accounts.roles import Role
from gwanje.audit.models import AccessLog
from gwanje.registry import forms_import
from gwanje.registry.choices import Source
from gwanje.registry.models import Camera, Site

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"
UPLOAD = reverse("registry_import:upload")
CONFIRM = reverse("registry_import:confirm")
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DATA_DIR = tmp_path


def uploads(settings) -> list[Path]:
    folder = Path(settings.DATA_DIR) / "uploads"
    return sorted(folder.iterdir()) if folder.exists() else []


def post_file(client, name: str, content: bytes | None = None, **fields):
    data = (FIXTURES / name).read_bytes() if content is None else content
    payload = {"format": "standard", "encoding": "auto", "department": "", "other_purpose": "", **fields}
    payload["file"] = SimpleUploadedFile(name, data, content_type="text/csv")
    return client.post(UPLOAD, payload, **EN)


def token_of(response) -> str:
    assert response.status_code == 302, response.content[:2000]
    return response["Location"].rstrip("/").rsplit("/", 1)[-1]


def test_upload_preview_confirm(client_for, it_admin, settings):
    client = client_for(it_admin)
    page = client.get(UPLOAD, **EN)
    assert page.status_code == 200 and b"Check the file" in page.content
    before = Site.objects.count(), Camera.objects.count()

    token = token_of(post_file(client, "seoul-ansim-sample.csv", format="seoul-ansim"))
    assert len(uploads(settings)) == 2  # the file and its metadata, kept until confirmed
    preview = client.get(reverse("registry_import:preview", args=[token]), **EN)
    assert preview.status_code == 200
    report = preview.context["report"]
    assert (report.result.sites_created, report.result.sites_updated) == (29, 0)
    assert b"No errors: the file can be imported." in preview.content
    assert (Site.objects.count(), Camera.objects.count()) == before  # a preview changes nothing

    done = client.post(CONFIRM, {"token": token}, **EN)
    assert done.status_code == 200 and b"was imported" in done.content
    assert Site.objects.count() == before[0] + 29
    assert Site.objects.filter(source=Source.SEOUL_ANSIM).count() == 29
    assert uploads(settings) == []  # removed after the import
    assert client.post(CONFIRM, {"token": token}, **EN).status_code == 404  # cannot be imported twice


def test_errors_are_previewed_and_block_the_import_until_skipped(client_for, it_admin):
    client = client_for(it_admin)
    token = token_of(post_file(client, "standard-broken.csv"))
    preview = client.get(reverse("registry_import:preview", args=[token]), **EN)
    assert (
        b"12 rows have errors. Nothing will be imported unless you skip the invalid rows." in preview.content
    )
    issues = preview.context["issues"]
    assert (issues[0].line, issues[0].column, issues[0].message) == (
        3,
        "위도, 경도",
        "The coordinate is blank.",
    )
    assert "Latitude and longitude look swapped." in preview.content.decode()
    before = Site.objects.count()

    blocked = client.post(CONFIRM, {"token": token}, **EN)
    assert b"Nothing was imported because some rows have errors." in blocked.content
    assert Site.objects.count() == before

    done = client.post(CONFIRM, {"token": token, "skip_invalid": "1"}, **EN)
    assert b"was imported" in done.content
    assert Site.objects.count() == before + 3


def test_without_the_import_permission_403_and_anonymous_to_login(client_for, agent, client):
    denied = client_for(agent)
    assert denied.get(UPLOAD).status_code == 403
    assert post_file(denied, "standard-format-example.csv").status_code == 403
    assert client.get(UPLOAD)["Location"].startswith(reverse("accounts:login"))


def test_a_department_manager_imports_into_his_own_department_only(client_for, parks_manager, make_user):
    client = client_for(parks_manager)
    other = Organisation.objects.get(code="seongdong-autonomous-admin").pk
    token = token_of(post_file(client, "standard-format-example.csv", department=str(other)))
    preview = client.get(reverse("registry_import:preview", args=[token]), **EN)
    assert preview.context["department"] == "공원녹지과"
    client.post(CONFIRM, {"token": token}, **EN)
    imported = Site.objects.filter(source=Source.STANDARD)
    assert imported.count() == 12
    assert set(imported.values_list("department__code", flat=True)) == {"seongdong-parks"}

    # Sites of another department in the file are refused, row by row: G025 is 교통지도과's here.
    g025 = Site.objects.get(code="SD-G025")
    g025.pk, g025.code, g025.is_synthetic = None, "G025", False
    g025.save()
    token = token_of(post_file(client, "seoul-ansim-sample.csv", format="seoul-ansim"))
    preview = client.get(reverse("registry_import:preview", args=[token]), **EN)
    refused = [i for i in preview.context["report"].errors if i.code == "other_department"]
    assert [i.message for i in refused] == [
        "Site G025 belongs to another department (교통지도과); you may only import into your own."
    ]


def test_another_users_token_is_404(client_for, it_admin, make_user, settings):
    token = token_of(post_file(client_for(it_admin), "standard-format-example.csv"))
    intruder = client_for(make_user(Role.IT_ADMIN))
    assert intruder.get(reverse("registry_import:preview", args=[token])).status_code == 404
    assert intruder.post(CONFIRM, {"token": token}).status_code == 404
    assert intruder.post(CONFIRM, {"token": "../../etc/passwd"}).status_code == 404
    denied = AccessLog.objects.filter(subject_type="import_upload", result="denied")
    assert denied.count() == 2 and {r.username for r in denied} != {it_admin.username}
    assert not Site.objects.filter(source=Source.STANDARD).exists()
    assert len(uploads(settings)) == 2


@pytest.mark.parametrize(
    ("name", "content", "fields", "message"),
    [
        ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10, {}, "This is not a text (CSV) file."),
        ("list.xlsx", b"PK\x03\x04\x14\x00\x06\x00" * 10, {}, "save it as CSV first"),
        ("wrong.csv", "이름,전화\n가,1\n".encode(), {}, "Missing columns: 관리기관명"),
        ("ansim.csv", None, {}, "choose the seoul-ansim format"),
        ("cp949.csv", None, {"encoding": "utf-8"}, "cannot be read as UTF-8"),
    ],
)
def test_bad_files_get_a_clear_message(client_for, it_admin, settings, name, content, fields, message):
    if content is None:
        source = "seoul-ansim-sample.csv" if name == "ansim.csv" else "standard-format-example.cp949.csv"
        content = (FIXTURES / source).read_bytes()
    response = post_file(client_for(it_admin), name, content, **fields)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert uploads(settings) == []


def test_size_limit(client_for, it_admin, monkeypatch, settings):
    monkeypatch.setattr(forms_import, "MAX_UPLOAD_BYTES", 1024)
    response = post_file(client_for(it_admin), "standard-format-example.csv")
    assert response.status_code == 200 and b"The file is larger than" in response.content
    assert uploads(settings) == []


def test_cancel_removes_the_upload(client_for, it_admin, settings):
    client = client_for(it_admin)
    token = token_of(post_file(client, "standard-format-example.csv"))
    assert client.post(reverse("registry_import:cancel"), {"token": token}).status_code == 302
    assert uploads(settings) == []
