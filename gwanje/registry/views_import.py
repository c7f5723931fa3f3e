"""The camera-list import in the browser: upload → preview (a dry run with every row issue and the
would-be summary) → confirm (the import itself).

The uploaded file waits between preview and confirm under DATA_DIR/uploads, bound to the user who
uploaded it by a random token (another user's token is a 404), and is removed after the import.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gwanje.accounts.models import Organisation
from gwanje.core import permissions
from gwanje.registry.formats import FormatError, ImportOptions, ImportReport, check_file, import_cameras
from gwanje.registry.forms_import import FORMAT_CHOICES, ImportUploadForm

ACTION = "registry.import"
MAX_SHOWN = 500  # issues listed on a page; the rest are counted
STALE_SECONDS = 24 * 3600
_TOKEN_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def upload_dir() -> Path:
    return Path(settings.DATA_DIR) / "uploads"


@dataclass
class PendingUpload:
    token: str
    user_id: int
    filename: str
    format: str
    encoding: str
    department_id: int | None
    other_purpose: str
    skip_invalid: bool

    @property
    def data_path(self) -> Path:
        return upload_dir() / f"import-{self.token}.csv"

    @property
    def meta_path(self) -> Path:
        return upload_dir() / f"import-{self.token}.json"

    def read(self) -> bytes:
        return self.data_path.read_bytes()

    def discard(self) -> None:
        self.data_path.unlink(missing_ok=True)
        self.meta_path.unlink(missing_ok=True)

    @property
    def format_label(self) -> str:
        return str(dict(FORMAT_CHOICES).get(self.format, self.format))


def _remove_stale() -> None:
    now = time.time()
    for path in upload_dir().glob("import-*"):
        try:
            if now - path.stat().st_mtime > STALE_SECONDS:
                path.unlink()
        except OSError:
            pass


def _store(user, form: ImportUploadForm, data: bytes) -> PendingUpload:
    directory = upload_dir()
    directory.mkdir(parents=True, exist_ok=True)
    _remove_stale()
    d = form.cleaned_data
    pending = PendingUpload(
        token=secrets.token_urlsafe(24),
        user_id=user.pk,
        filename=Path(d["file"].name).name[:200],
        format=d["format"],
        encoding=d["encoding"],
        department_id=d["department"].pk if d["department"] else None,
        other_purpose=d["other_purpose"] or "",
        skip_invalid=bool(d["skip_invalid"]),
    )
    pending.data_path.write_bytes(data)
    meta = {k: v for k, v in pending.__dict__.items() if k != "token"}
    pending.meta_path.write_text(json.dumps(meta), encoding="utf-8")
    return pending


def _load(request, token: str) -> PendingUpload:
    """The user's pending upload, or 404 (unknown token, someone else's — that attempt is written
    to the access log as denied —, or already imported)."""
    user = request.user
    if not (20 <= len(token) <= 64) or not set(token) <= _TOKEN_CHARS:
        raise Http404
    path = upload_dir() / f"import-{token}.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise Http404 from None
    if meta.get("user_id") != user.pk:
        from gwanje.audit import services as audit

        audit.record_access(
            user=user,
            action="view",
            subject_type="import_upload",
            subject=f"upload:{token[:8]}… of user {meta.get('user_id')}",
            result="denied",
            reason="someone else's camera-list upload",
            request=request,
        )
        raise Http404
    pending = PendingUpload(token=token, **meta)
    if not pending.data_path.is_file():
        raise Http404
    return pending


def _options(user, pending: PendingUpload, *, dry_run: bool, skip_invalid: bool) -> ImportOptions:
    department = None
    restrict = None
    if permissions.is_scoped_to_department(user):
        department = restrict = user.organisation  # whatever the stored choice says
    elif pending.department_id:
        department = Organisation.objects.filter(pk=pending.department_id).first()
    return ImportOptions(
        format=pending.format,
        encoding=pending.encoding,
        department=department,
        restrict_to=restrict,
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        other_purpose=pending.other_purpose or None,
    )


def summary_rows(report: ImportReport) -> list[tuple[str, int, int, int, int, int]]:
    """(what, created, updated, unchanged, retired, skipped) for the summary table."""
    s = report.summary()
    return [
        (_("Sites"), s["sites_created"], s["sites_updated"], s["sites_unchanged"], None, s["sites_skipped"]),
        (
            _("Cameras"),
            s["cameras_created"],
            s["cameras_updated"],
            s["cameras_unchanged"],
            s["cameras_retired"],
            s["cameras_skipped"],
        ),
    ]


def _report_context(report: ImportReport) -> dict:
    return {
        "report": report,
        "summary": summary_rows(report),
        "issues": report.issues[:MAX_SHOWN],
        "issues_hidden": max(0, len(report.issues) - MAX_SHOWN),
        "error_count": len(report.errors),
        "warning_count": len(report.warnings),
    }


@permissions.requires(ACTION)
def upload(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data["file"].read()
        try:
            check_file(data, form.cleaned_data["format"], form.cleaned_data["encoding"])
        except FormatError as exc:
            form.add_error("file", str(exc))
        else:
            pending = _store(request.user, form, data)
            return redirect("registry_import:preview", token=pending.token)
    return render(request, "registry/import_upload.html", {"form": form})


@permissions.requires(ACTION)
def preview(request: HttpRequest, token: str) -> HttpResponse:
    pending = _load(request, token)
    context = {"pending": pending, "department": _department_label(request.user, pending)}
    try:
        report = import_cameras(
            pending.read(), _options(request.user, pending, dry_run=True, skip_invalid=pending.skip_invalid)
        )
    except FormatError as exc:
        pending.discard()
        context["problem"] = str(exc)
        return render(request, "registry/import_preview.html", context)
    context.update(_report_context(report))
    return render(request, "registry/import_preview.html", context)


@permissions.requires(ACTION)
@require_POST
def confirm(request: HttpRequest) -> HttpResponse:
    pending = _load(request, request.POST.get("token", ""))
    skip_invalid = pending.skip_invalid or request.POST.get("skip_invalid") == "1"
    context = {"pending": pending, "department": _department_label(request.user, pending)}
    try:
        report = import_cameras(
            pending.read(), _options(request.user, pending, dry_run=False, skip_invalid=skip_invalid)
        )
    except FormatError as exc:
        pending.discard()
        context["problem"] = str(exc)
        return render(request, "registry/import_preview.html", context)
    context.update(_report_context(report))
    if report.blocked:  # nothing imported: show the preview again, the file stays
        context["blocked_on_confirm"] = True
        return render(request, "registry/import_preview.html", context)
    pending.discard()
    return render(request, "registry/import_done.html", context)


@permissions.requires(ACTION)
@require_POST
def cancel(request: HttpRequest) -> HttpResponse:
    _load(request, request.POST.get("token", "")).discard()
    return redirect("registry_import:upload")


def _department_label(user, pending: PendingUpload) -> str:
    if permissions.is_scoped_to_department(user):
        return user.organisation.name if user.organisation else ""
    if pending.department_id:
        org = Organisation.objects.filter(pk=pending.department_id).first()
        return str(org) if org else ""
    return ""
