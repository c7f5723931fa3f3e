"""Importing a camera list: decode → read → validate every row → merge with what is already in the
registry → one `upsert_sites` call (or the same inside a rolled-back transaction for a dry run).

Rows with errors never reach the database. Without `skip_invalid` a file with any error changes
nothing; with it the valid rows are imported and the bad ones reported as skipped (a site with a
skipped row retires none of its cameras).

Merging with existing sites (same site code):
- what the format does not carry is kept: the standard format keeps a site's name, owner, flags
  and notes and a camera's kind, notes and own point; the 안심이 list keeps addresses, owner,
  installation date, notes and a camera's purpose, retention, resolution and view direction;
- an explicit department (the department option, or a 관리기관명 naming an organisation) is set,
  except that a site already in a department *under* that organisation keeps it (a file naming
  성동구청 does not move 공원녹지과's sites); a default department (안심이: 자치행정과) applies to
  new sites only;
- a department manager (`restrict_to`) cannot touch another department's sites: such rows are
  errors.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gwanje.accounts.models import Organisation
from gwanje.core.perf import gc_paused
from gwanje.registry import rows
from gwanje.registry.bulk import CameraSpec, SiteSpec, UpsertResult, upsert_sites
from gwanje.registry.choices import CameraStatus
from gwanje.registry.formats.common import (
    FormatError,
    Issues,
    OrganisationIndex,
    PlaceIndex,
    RowIssue,
    Table,
    decode,
    iter_chunks,
    read_table,
)
from gwanje.registry.models import Camera, Site

_BATCH = 2000


class Progress(Protocol):
    def start(self, description: str, total: int) -> None: ...
    def update(self, n: int) -> None: ...
    def close(self) -> None: ...


class _NoProgress:
    def start(self, description: str, total: int) -> None:
        pass

    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class ImportOptions:
    format: str
    encoding: str = "auto"
    department: Organisation | None = None  # every site goes to this department (explicit)
    restrict_to: Organisation | None = None  # a department manager: only this department's sites
    skip_invalid: bool = False
    dry_run: bool = False
    other_purpose: str | None = None  # standard: what 기타 means


@dataclass
class Draft:
    """A site built from valid rows, before it is merged with the registry."""

    spec: SiteSpec
    lines: list[int]
    department_explicit: bool
    complete: bool = True  # False when some of its rows were invalid: then nothing is retired
    camera_count: int = 0  # standard: cameras at the place (numbers assigned on merge)
    camera_template: CameraSpec | None = None


@dataclass
class Context:
    options: ImportOptions
    issues: Issues
    organisations: OrganisationIndex
    places: PlaceIndex
    today: dt.date


class Format(Protocol):
    NAME: str
    SITE_KEEP: tuple[str, ...]  # site fields the format does not carry: kept for existing sites
    CAMERA_KEEP: tuple[str, ...]  # camera fields the format does not carry
    CAMERA_KEEP_POINT: bool  # cameras placed apart from their site keep their own point

    def column_index(self, header: list[str]) -> dict[str, int]: ...

    def parse(self, table: Table, ctx: Context, progress: Progress) -> tuple[list[Draft], int, int]: ...


@dataclass
class ImportReport:
    format: str
    encoding: str
    rows: int = 0
    issues: list[RowIssue] = field(default_factory=list)
    sites_in_file: int = 0
    cameras_in_file: int = 0
    rows_skipped: int = 0
    sites_skipped: int = 0
    cameras_skipped: int = 0
    result: UpsertResult | None = None
    applied: bool = False
    dry_run: bool = False
    skip_invalid: bool = False

    @property
    def errors(self) -> list[RowIssue]:
        return [i for i in self.issues if i.is_error]

    @property
    def warnings(self) -> list[RowIssue]:
        return [i for i in self.issues if not i.is_error]

    @property
    def blocked(self) -> bool:
        """Errors prevented the import: nothing was (or, in a dry run, would be) written."""
        return bool(self.errors) and not self.skip_invalid

    def summary(self) -> dict[str, int]:
        r = self.result or UpsertResult()
        return {
            "rows": self.rows,
            "sites_created": r.sites_created,
            "sites_updated": r.sites_updated,
            "sites_unchanged": r.sites_unchanged,
            "sites_skipped": self.sites_skipped,
            "cameras_created": r.cameras_created,
            "cameras_updated": r.cameras_updated,
            "cameras_unchanged": r.cameras_unchanged,
            "cameras_retired": r.cameras_retired,
            "cameras_skipped": self.cameras_skipped,
            "rows_skipped": self.rows_skipped,
            "warnings": len(self.warnings),
            "errors": len(self.errors),
        }


def _formats() -> dict[str, Format]:
    from gwanje.registry.formats import seoul_ansim, standard

    return {standard.NAME: standard, seoul_ansim.NAME: seoul_ansim}  # type: ignore[dict-item]


def _format(name: str) -> Format:
    fmt = _formats().get(name)
    if fmt is None:
        raise FormatError(_("Unknown format %(f)s.") % {"f": name})
    return fmt


def check_file(data: bytes, format: str, encoding: str = "auto") -> str:
    """Cheap whole-file checks (encoding, CSV, columns, at least one row) without touching the
    database; FormatError says what is wrong. Returns the encoding used."""
    fmt = _format(format)
    text, used = decode(data, encoding)
    table = read_table(text)
    fmt.column_index(table.header)
    if not table.rows:
        raise FormatError(_("The file has a header but no rows."))
    return used


def import_cameras(data: bytes, options: ImportOptions, progress: Progress | None = None) -> ImportReport:
    """Validate and import a camera list; see the module docstring. Raises FormatError when the
    file as a whole cannot be read (encoding, not a CSV, wrong columns)."""
    with gc_paused():
        return _import(data, options, progress)


def _import(data: bytes, options: ImportOptions, progress: Progress | None) -> ImportReport:
    progress = progress or _NoProgress()
    fmt = _format(options.format)
    text, encoding = decode(data, options.encoding)
    table = read_table(text)
    fmt.column_index(table.header)
    if not table.rows:
        raise FormatError(_("The file has a header but no rows."))
    ctx = Context(options, Issues(), OrganisationIndex(), PlaceIndex(), timezone.localdate())
    report = ImportReport(
        format=fmt.NAME,
        encoding=encoding,
        rows=len(table.rows),
        dry_run=options.dry_run,
        skip_invalid=options.skip_invalid,
    )
    drafts, report.sites_in_file, report.cameras_in_file = fmt.parse(table, ctx, progress)
    drafts = _merge_existing(drafts, fmt, ctx)
    report.issues = ctx.issues.sorted()
    report.rows_skipped = len(ctx.issues.bad_lines)
    cameras_in_file = report.cameras_in_file
    imported_cameras = sum(len(d.spec.cameras) for d in drafts)
    report.cameras_skipped = max(0, cameras_in_file - imported_cameras)
    report.sites_skipped = max(0, report.sites_in_file - len(drafts))
    specs = [d.spec for d in drafts]
    if report.errors and not options.skip_invalid:
        # Nothing is written; the would-be figures (valid rows only) come from a rolled-back run.
        report.result = _dry_run(specs, ctx.places, progress) if specs else UpsertResult()
        progress.close()
        return report
    if options.dry_run:
        report.result = _dry_run(specs, ctx.places, progress)
    elif specs:
        report.result = _upsert(specs, ctx.places, progress)
        report.applied = True
    else:
        report.result = UpsertResult()
    progress.close()
    return report


def _upsert(specs: list[SiteSpec], places: PlaceIndex, progress: Progress) -> UpsertResult:
    progress.start(_("Writing sites"), len(specs))
    return upsert_sites(specs, locator=places, progress=progress.update)


def _dry_run(specs: list[SiteSpec], places: PlaceIndex, progress: Progress) -> UpsertResult:
    with transaction.atomic():
        result = _upsert(specs, places, progress)
        transaction.set_rollback(True)
    return result


# --- merging with the registry ----------------------------------------------------------------


def _merge_existing(drafts: list[Draft], fmt: Format, ctx: Context) -> list[Draft]:
    """Fill what the format does not carry from existing sites/cameras, assign standard camera
    numbers, keep a department manager to his own department. Few queries per 2,000 sites."""
    out: list[Draft] = []
    restrict = ctx.options.restrict_to
    for chunk in iter_chunks(drafts, _BATCH):
        by_code = {d.spec.code: d for d in chunk}
        site_qs = Site.objects.filter(code__in=list(by_code)).order_by()
        if fmt.CAMERA_KEEP_POINT:
            site_qs = site_qs.annotate(_x=rows.X, _y=rows.Y)
        sites = {
            row[0]: row
            for row in site_qs.values_list(
                "code",
                "pk",
                "department_id",
                "department__name",
                *fmt.SITE_KEEP,
                *(("_x", "_y") if fmt.CAMERA_KEEP_POINT else ()),
            )  # fmt: skip
        }
        site_xy = {row[1]: row[-2:] for row in sites.values()} if fmt.CAMERA_KEEP_POINT else {}
        cameras: dict[int, dict[int, tuple]] = {}
        own_points: dict[tuple[int, int], Point] = {}  # cameras placed apart from their site
        camera_qs = Camera.objects.filter(site_id__in=[row[1] for row in sites.values()]).order_by()
        if fmt.CAMERA_KEEP_POINT:
            camera_qs = camera_qs.annotate(_x=rows.X, _y=rows.Y)
        for row in camera_qs.values_list(
            "site_id", "number", "status", *fmt.CAMERA_KEEP, *(("_x", "_y") if fmt.CAMERA_KEEP_POINT else ())
        ):
            if fmt.CAMERA_KEEP_POINT:
                xy, row = row[-2:], row[:-2]
                if xy != site_xy[row[0]]:
                    own_points[(row[0], row[1])] = Point(*xy, srid=4326)
            cameras.setdefault(row[0], {})[row[1]] = row[2:]
        for draft in chunk:
            spec = draft.spec
            row = sites.get(spec.code)
            if row is None:
                if draft.camera_template is not None:
                    spec.cameras = _numbered(draft, list(range(1, draft.camera_count + 1)), {}, fmt, {}, 0)
                spec.retire_missing = draft.complete
                out.append(draft)
                continue
            site_id, dept_id, dept_name = row[1], row[2], row[3]
            if restrict is not None and dept_id != restrict.pk:
                ctx.issues.error(
                    draft.lines[0],
                    "",
                    "other_department",
                    _(
                        "Site %(code)s belongs to another department (%(dept)s); you may only import "
                        "into your own."
                    )
                    % {"code": spec.code, "dept": dept_name},
                )
                ctx.issues.bad_lines.update(draft.lines)
                continue
            if not draft.department_explicit or ctx.organisations.is_within(dept_id, spec.department.pk):
                spec.department = ctx.organisations.by_pk.get(dept_id, spec.department)
            for name, value in zip(fmt.SITE_KEEP, row[4 : 4 + len(fmt.SITE_KEEP)], strict=True):
                setattr(spec, name, value)
            existing = cameras.get(site_id, {})
            if draft.camera_template is not None:
                active = sorted(n for n, values in existing.items() if values[0] != CameraStatus.RETIRED)
                numbers = active[: draft.camera_count]
                top = max(existing, default=0)
                numbers += list(range(top + 1, top + 1 + draft.camera_count - len(numbers)))
                spec.cameras = _numbered(draft, numbers, existing, fmt, own_points, site_id)
            else:
                for cs in spec.cameras:
                    values = existing.get(cs.number)
                    if values is not None:
                        for name, value in zip(fmt.CAMERA_KEEP, values[1:], strict=True):
                            setattr(cs, name, value)
            spec.retire_missing = draft.complete
            out.append(draft)
    return out


def _numbered(
    draft: Draft,
    numbers: list[int],
    existing: dict[int, tuple],
    fmt: Format,
    own_points: dict[tuple[int, int], object],
    site_id: int,
) -> list[CameraSpec]:
    template = draft.camera_template
    assert template is not None
    cams = []
    for number in numbers:
        cs = CameraSpec(
            number=number,
            primary_purpose=template.primary_purpose,
            kind=template.kind,
            view_direction=template.view_direction,
            megapixels=template.megapixels,
            retention_days=template.retention_days,
        )
        values = existing.get(number)
        if values is not None:
            for name, value in zip(fmt.CAMERA_KEEP, values[1:], strict=True):
                setattr(cs, name, value)
            cs.point = own_points.get((site_id, number))
        cams.append(cs)
    return cams
