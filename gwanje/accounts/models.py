from __future__ import annotations

import ipaddress

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gwanje.accounts.choices import OrganisationKind
from gwanje.accounts.roles import Role


class Organisation(models.Model):
    """The district office and its departments, the police station and its units, contractors."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=OrganisationKind.choices())
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return (
            f"{self.parent.name} {self.name}"
            if self.parent_id and self.kind != OrganisationKind.DEPARTMENT
            else self.name
        )

    @property
    def is_police(self) -> bool:
        return self.kind in OrganisationKind.POLICE


class User(AbstractUser):
    """One account per person; each belongs to exactly one organisation."""

    name = models.CharField(_("full name"), max_length=50, blank=True)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    employee_number = models.CharField(_("employee number"), max_length=30, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    # Sign-in safety measures (docs/authentication.md); written only by gwanje.accounts.services.
    failed_logins = models.PositiveSmallIntegerField(
        _("consecutive failed sign-ins"), default=0, editable=False
    )
    locked_at = models.DateTimeField(_("locked at"), null=True, blank=True, editable=False)
    password_changed_at = models.DateTimeField(
        _("password changed at"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            # One account per person: an employee number is unique within its organisation.
            models.UniqueConstraint(
                fields=["organisation", "employee_number"],
                condition=~models.Q(employee_number=""),
                name="accounts_user_one_account_per_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.username})" if self.name else self.username

    def save(self, *args, **kwargs):
        # `_password` holds the raw password only after set_password() (not after a hash upgrade
        # on sign-in): that is a password change, and the expiry clock restarts. Django then calls
        # each validator's password_changed() (the history keeps the new hash).
        if self._password is not None:
            self.password_changed_at = timezone.now()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "password_changed_at"}
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.name or self.username

    @property
    def role_codes(self) -> list[str]:
        from gwanje.core.permissions import roles_of

        return sorted(roles_of(self))


class PasswordHistory(models.Model):
    """The hashes of an account's last passwords (the current one included), so that a new password
    cannot be one of the last few (gwanje.accounts.passwords.PasswordHistoryValidator)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(_("password hash"), max_length=128)
    created_at = models.DateTimeField(_("set at"), default=timezone.now)

    class Meta:
        verbose_name = _("previous password")
        verbose_name_plural = _("previous passwords")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d}"


def parse_cidrs(text: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The networks of an allow-list: one CIDR (or single address) per line; blank lines and
    `# comments` are ignored. Raises ValidationError naming every bad line."""
    networks, errors = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            networks.append(ipaddress.ip_network(line, strict=True))
        except ValueError:
            try:
                loose = ipaddress.ip_network(line, strict=False)
            except ValueError:
                errors.append(
                    ValidationError(
                        _("Line %(line)d: %(value)s is not an IP network (write e.g. 10.20.0.0/16)."),
                        code="invalid_cidr",
                        params={"line": number, "value": line},
                    )
                )
            else:
                errors.append(
                    ValidationError(
                        _("Line %(line)d: %(value)s has host bits set; did you mean %(network)s?"),
                        code="host_bits_set",
                        params={"line": number, "value": line, "network": str(loose)},
                    )
                )
    if errors:
        raise ValidationError(errors)
    return networks


def validate_cidrs(value: str) -> None:
    if not parse_cidrs(value or ""):
        raise ValidationError(
            _("Enter at least one network; delete the policy to lift the restriction."), code="empty"
        )


class RoleNetworkPolicy(models.Model):
    """The networks a role may be used from (IP allow-list). A user may sign in and work only from an
    address inside one of the networks of each of their roles that has a policy; a role without a
    policy is not restricted."""

    role = models.CharField(_("role"), max_length=40, unique=True, choices=Role.choices())
    cidrs = models.TextField(
        _("allowed networks"),
        validators=[validate_cidrs],
        help_text=_("One network per line in CIDR notation (e.g. 10.20.0.0/16) or a single address."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("network policy of a role")
        verbose_name_plural = _("network policies of roles")
        ordering = ["role"]

    def __str__(self) -> str:
        return str(Role.label(self.role))

    def networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return parse_cidrs(self.cidrs)

    @property
    def cidr_list(self) -> list[str]:
        return [str(n) for n in self.networks()]
