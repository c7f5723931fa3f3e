"""The monthly review of the access log (접속기록 월 1회 이상 점검): what a reviewer should look at.

`flags(month)` lists, for one month (Asia/Seoul):
- outbound: exports, downloads and prints of personal information;
- night: access between 22:00 and 06:00;
- many_cameras: one user opening ≥ MANY_CAMERAS_COUNT distinct cameras within MANY_CAMERAS_WINDOW;
- denied: refused attempts;
- police_no_grant: police roles trying to watch video without an incident grant (refused camera
  access by a police role);
- new_ip: a successful sign-in from an address the user had not signed in from in the previous
  NEW_IP_LOOKBACK.
Records written by the system itself (no user: purge, jobs) are not flagged.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Q
from django.db.models.functions import ExtractHour
from django.utils.translation import gettext as _

from gwanje.accounts.roles import Role
from gwanje.audit import days
from gwanje.audit.choices import AccessAction, AccessResult, FlagKind
from gwanje.audit.models import AccessLog, LoginEvent

NIGHT_START_HOUR = 22
NIGHT_END_HOUR = 6
MANY_CAMERAS_COUNT = 20
MANY_CAMERAS_WINDOW = timedelta(minutes=10)
NEW_IP_LOOKBACK = timedelta(days=90)
CAMERA_SUBJECT_TYPE = "camera"


@dataclass(frozen=True)
class Flag:
    kind: str
    ref: str  # "access:<seq>" or "login:<id>"
    user: str  # user name
    name: str  # the person's name (may be empty)
    at: datetime
    detail: str

    @property
    def kind_label(self) -> str:
        return FlagKind.label(self.kind)

    @property
    def colour(self) -> str:
        return FlagKind.colour(self.kind)


def camera_key(subject: str) -> str:
    """'camera:123 2026-11-24T01:00Z/…' → 'camera:123' (the camera, without the time range)."""
    return subject.split(maxsplit=1)[0] if subject else ""


_FIELDS = ("seq", "at", "username", "name", "roles", "action", "subject_type", "subject", "result", "reason")


def _access(month_start: datetime, month_end: datetime):
    return AccessLog.objects.filter(at__gte=month_start, at__lt=month_end, user_id__isnull=False)


def _flag(kind: str, r: dict, detail: str) -> Flag:
    return Flag(kind, f"access:{r['seq']}", r["username"], r["name"], r["at"], detail)


def _describe(r: dict) -> str:
    text = f"{AccessAction.label(r['action'])} {r['subject_type']} {r['subject']}"
    if r["result"] == AccessResult.DENIED:
        text += f" ({AccessResult.label(r['result'])})"
    return text


def outbound(start: datetime, end: datetime) -> list[Flag]:
    rows = _access(start, end).filter(action__in=AccessAction.OUTBOUND).order_by("seq").values(*_FIELDS)
    return [_flag(FlagKind.OUTBOUND, r, _describe(r)) for r in rows]


def night(start: datetime, end: datetime) -> list[Flag]:
    rows = (
        _access(start, end)
        .annotate(hour=ExtractHour("at", tzinfo=days.SEOUL))
        .filter(Q(hour__gte=NIGHT_START_HOUR) | Q(hour__lt=NIGHT_END_HOUR))
        .order_by("seq")
        .values(*_FIELDS)
    )
    return [_flag(FlagKind.NIGHT, r, _describe(r)) for r in rows]


def denied(start: datetime, end: datetime) -> list[Flag]:
    rows = _access(start, end).filter(result=AccessResult.DENIED).order_by("seq").values(*_FIELDS)
    return [_flag(FlagKind.DENIED, r, _describe(r)) for r in rows]


def police_without_grant(start: datetime, end: datetime) -> list[Flag]:
    rows = (
        _access(start, end)
        .filter(result=AccessResult.DENIED, subject_type=CAMERA_SUBJECT_TYPE)
        .order_by("seq")
        .values(*_FIELDS)
    )
    return [
        _flag(FlagKind.POLICE_NO_GRANT, r, _describe(r) + (f" — {r['reason']}" if r["reason"] else ""))
        for r in rows
        if set(r["roles"].split(",")) & Role.POLICE
    ]


def _burst(first: dict, last: dict, count: int) -> Flag:
    detail = _("%(count)d cameras within %(minutes)d min (%(start)s–%(end)s), seq %(first)d..%(last)d") % {
        "count": count,
        "minutes": int(MANY_CAMERAS_WINDOW.total_seconds() // 60),
        "start": f"{days.local(first['at']):%H:%M}",
        "end": f"{days.local(last['at']):%H:%M}",
        "first": first["seq"],
        "last": last["seq"],
    }
    return Flag(
        FlagKind.MANY_CAMERAS, f"access:{first['seq']}", last["username"], last["name"], first["at"], detail
    )


def many_cameras(start: datetime, end: datetime) -> list[Flag]:
    """One flag per burst: when a user's distinct cameras within the window first reach the count
    (the next flag for that user only after the burst has ended)."""
    rows = (
        _access(start, end)
        .filter(subject_type=CAMERA_SUBJECT_TYPE)
        .order_by("user_id", "at", "seq")
        .values("user_id", *_FIELDS)
    )
    out: list[Flag] = []
    by_user: dict[int, list[dict]] = defaultdict(list)
    for r in rows:
        by_user[r["user_id"]].append(r)
    for records in by_user.values():
        window: deque[dict] = deque()
        counts: Counter[str] = Counter()
        flagged = False
        for r in records:
            window.append(r)
            counts[camera_key(r["subject"])] += 1
            while r["at"] - window[0]["at"] > MANY_CAMERAS_WINDOW:
                old = camera_key(window.popleft()["subject"])
                counts[old] -= 1
                if not counts[old]:
                    del counts[old]
            if len(counts) >= MANY_CAMERAS_COUNT:
                if not flagged:
                    out.append(_burst(window[0], r, len(counts)))
                    flagged = True
            else:
                flagged = False
    out.sort(key=lambda f: f.at)
    return out


def new_addresses(start: datetime, end: datetime) -> list[Flag]:
    events = (
        LoginEvent.objects.filter(
            success=True, user_id__isnull=False, ip__isnull=False, at__gte=start - NEW_IP_LOOKBACK, at__lt=end
        )
        .order_by("id")
        .values("id", "user_id", "username", "ip", "at")
    )
    seen: dict[int, dict[str, datetime]] = defaultdict(dict)
    out = []
    for e in events:
        mine = seen[e["user_id"]]
        last = mine.get(e["ip"])
        if e["at"] >= start and (last is None or e["at"] - last > NEW_IP_LOOKBACK):
            if mine:
                detail = _(
                    "%(ip)s: not used in the previous %(days)d days (%(others)d other address(es))"
                ) % {
                    "ip": e["ip"],
                    "days": NEW_IP_LOOKBACK.days,
                    "others": len(mine),
                }
            else:
                detail = _("%(ip)s: first sign-in in the previous %(days)d days") % {
                    "ip": e["ip"],
                    "days": NEW_IP_LOOKBACK.days,
                }
            out.append(Flag(FlagKind.NEW_IP, f"login:{e['id']}", e["username"], "", e["at"], detail))
        mine[e["ip"]] = e["at"]
    return out


CHECKS = (
    (FlagKind.OUTBOUND, outbound),
    (FlagKind.NIGHT, night),
    (FlagKind.MANY_CAMERAS, many_cameras),
    (FlagKind.DENIED, denied),
    (FlagKind.POLICE_NO_GRANT, police_without_grant),
    (FlagKind.NEW_IP, new_addresses),
)


def flags(month: date) -> list[Flag]:
    """Every flag of a month (its first day, Asia/Seoul), grouped by kind in FlagKind order."""
    start, end = days.month_bounds(month)
    out: list[Flag] = []
    for _kind, check in CHECKS:
        out += check(start, end)
    return out


def counts(found: list[Flag]) -> dict[str, int]:
    c = Counter(f.kind for f in found)
    return {kind: c.get(kind, 0) for kind in FlagKind.values()}


def grouped(found: list[Flag]) -> list[dict]:
    """[{kind, label, colour, count, flags}] in FlagKind order (for the page)."""
    by_kind: dict[str, list[Flag]] = defaultdict(list)
    for f in found:
        by_kind[f.kind].append(f)
    return [
        {
            "kind": kind,
            "label": FlagKind.label(kind),
            "colour": FlagKind.colour(kind),
            "count": len(by_kind[kind]),
            "flags": by_kind[kind],
        }
        for kind in FlagKind.values()
    ]
