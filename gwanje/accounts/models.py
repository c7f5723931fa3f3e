from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from gwanje.accounts.choices import OrganisationKind


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

    def get_full_name(self) -> str:
        return self.name or self.username

    @property
    def role_codes(self) -> list[str]:
        from gwanje.core.permissions import roles_of

        return sorted(roles_of(self))
