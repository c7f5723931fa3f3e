"""Access log (접속기록), login events, permission-change history (권한 변경 이력), anchors, reviews.

Every table here is append-only: database triggers refuse UPDATE and DELETE (see
migrations/0002_append_only), apart from `ChainHead`, the one row per chain that serialises
appends. The access log and the permission-change history are hash chains (see chain.py).

User references are plain ids (`db_constraint=False`, `DO_NOTHING`): a record keeps its user's id
after the account is deleted, and deleting an account never needs to UPDATE a record (which the
triggers would refuse). Who it was is kept as text next to the id (user name, name, organisation,
roles at that moment), so a record stays meaningful after accounts change.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gwanje.audit import chain
from gwanje.audit.chain import GENESIS
from gwanje.audit.choices import AccessAction, AccessResult, Chain, ChangeAction


def _user_ref(verbose_name, related_name: str = "+"):
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose_name,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name=related_name,
    )


class ChainedRecord(models.Model):
    seq = models.BigIntegerField(_("sequence number"), unique=True)
    at = models.DateTimeField(_("time"), db_index=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)

    CHAIN = ""

    class Meta:
        abstract = True
        ordering = ["seq"]

    def canonical_values(self) -> list[str]:
        return chain.record_values(self.CHAIN, self)

    def computed_hash(self) -> str:
        return chain.compute_hash(self.CHAIN, self.canonical_values(), self.prev_hash)


class AccessLog(ChainedRecord):
    """One access to personal information: who, when, from where, what, why, and the outcome."""

    CHAIN = chain.ACCESS

    user = _user_ref(_("user"))
    username = models.CharField(_("user name"), max_length=150, blank=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    roles = models.CharField(_("roles"), max_length=300, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=AccessAction.choices())
    subject_type = models.CharField(_("subject type"), max_length=40)
    subject = models.TextField(_("subject"))
    reason = models.TextField(_("reason"), blank=True)
    legal_basis = models.TextField(_("legal basis"), blank=True)
    result = models.CharField(_("result"), max_length=10, choices=AccessResult.choices())

    class Meta(ChainedRecord.Meta):
        verbose_name = _("access log record")
        verbose_name_plural = _("access log")
        indexes = [models.Index(fields=["user", "at"], name="audit_access_user_at")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.username} {self.action} {self.subject}"

    @property
    def action_colour(self) -> str:
        return AccessAction.colour(self.action)

    @property
    def result_colour(self) -> str:
        return AccessResult.colour(self.result)

    @property
    def role_list(self) -> list[str]:
        return [r for r in self.roles.split(",") if r]


class PermissionChange(ChainedRecord):
    """One change of an account's rights (accounts, roles, locks, MFA, video grants, networks)."""

    CHAIN = chain.PERMISSION

    actor = _user_ref(_("changed by"))
    actor_username = models.CharField(_("changed by (user name)"), max_length=150)
    subject_user = _user_ref(_("account"))
    subject_username = models.CharField(_("account (user name)"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=40, choices=ChangeAction.choices())
    target = models.TextField(_("target"), blank=True)
    before = models.TextField(_("before"), blank=True)
    after = models.TextField(_("after"), blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta(ChainedRecord.Meta):
        verbose_name = _("permission change")
        verbose_name_plural = _("permission-change history")

    def __str__(self) -> str:
        return f"#{self.seq} {self.actor_username} {self.action} {self.subject_username or self.target}"

    @property
    def action_colour(self) -> str:
        return ChangeAction.colour(self.action)


class LoginEvent(models.Model):
    """A sign-in attempt (or sign-out), successful or not. Append-only, not chained."""

    at = models.DateTimeField(_("time"), db_index=True)
    username = models.CharField(_("user name (as typed)"), max_length=150, blank=True)
    user = _user_ref(_("user"))
    success = models.BooleanField(_("success"))
    reason = models.CharField(_("reason"), max_length=40, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("login event")
        verbose_name_plural = _("login events")
        ordering = ["id"]
        indexes = [models.Index(fields=["user", "at"], name="audit_login_user_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {'ok' if self.success else self.reason}"


class AuditAnchor(models.Model):
    """A chain's last record at the end of a day (Asia/Seoul), also written to a file outside the
    database (settings.AUDIT_ANCHOR_DIR/<chain>-anchors.log)."""

    chain = models.CharField(_("chain"), max_length=20, choices=Chain.choices())
    day = models.DateField(_("day"))
    last_seq = models.BigIntegerField(_("last sequence number"))
    last_hash = models.CharField(_("last hash"), max_length=64)
    written_at = models.DateTimeField(_("written at"))

    class Meta:
        verbose_name = _("daily anchor")
        verbose_name_plural = _("daily anchors")
        ordering = ["chain", "day"]
        constraints = [models.UniqueConstraint(fields=["chain", "day"], name="audit_anchor_one_per_day")]

    def __str__(self) -> str:
        return f"{self.chain} {self.day} {self.last_seq} {self.last_hash}"


class ChainHead(models.Model):
    """The last sequence number and hash of a chain. Appends first increment last_seq here, which
    locks the row (PostgreSQL) or the database (SQLite) until the transaction ends: the chain
    gets gapless, ordered sequence numbers."""

    chain = models.CharField(_("chain"), max_length=20, primary_key=True, choices=Chain.choices())
    last_seq = models.BigIntegerField(_("last sequence number"), default=0)
    last_hash = models.CharField(_("last hash"), max_length=64, default=GENESIS)

    class Meta:
        verbose_name = _("chain head")
        verbose_name_plural = _("chain heads")

    def __str__(self) -> str:
        return f"{self.chain} {self.last_seq}"


class MonthlyReview(models.Model):
    """The monthly review of the access log (접속기록 점검): who reviewed which month, what the
    review found (counts of each kind of flag) and their remarks."""

    month = models.DateField(_("month"), help_text=_("The first day of the reviewed month."))
    reviewer = _user_ref(_("reviewer"))
    reviewer_username = models.CharField(_("reviewer (user name)"), max_length=150)
    reviewer_name = models.CharField(_("reviewer (name)"), max_length=150, blank=True)
    reviewed_at = models.DateTimeField(_("reviewed at"))
    remarks = models.TextField(_("remarks"), blank=True)
    flag_counts = models.JSONField(_("flags found"), default=dict)

    class Meta:
        verbose_name = _("monthly review")
        verbose_name_plural = _("monthly reviews")
        ordering = ["month", "reviewed_at"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.reviewer_username}"
