"""Back office for organisations, accounts, roles and the network policies of roles.

Account writes go through gwanje.accounts.services (save_account, set_password, unlock, reset_mfa,
save_network_policy), which write the permission-change history: nothing here saves a user or its
roles directly. Two writes the history could not follow are not offered at all:

- roles (auth groups) are read-only: they are created by migration (0002_seed_roles), and their
  names are the role codes the permission matrix keys on, so renaming one would swap rights with
  no record;
- accounts are never deleted, but deactivated ("active" unticked: recorded as `deactivated`), so
  that the access log and the histories stay attributable to a person (PIPA).
"""

from django.contrib import admin, messages
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from gwanje.accounts import security, services
from gwanje.accounts.forms import AdminSetPasswordForm, RoleNetworkPolicyForm, admin_request
from gwanje.accounts.models import Organisation, RoleNetworkPolicy, User
from gwanje.core.admin import ChokePointAdmin


class AccountsAdminMixin:
    view_action = "accounts.view"
    change_action = "accounts.manage"
    delete_action = "accounts.manage"


@admin.register(Organisation)
class OrganisationAdmin(AccountsAdminMixin, ChokePointAdmin):
    list_display = ["name", "code", "kind", "parent", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "code"]


@admin.register(User)
class UserAdmin(AccountsAdminMixin, BaseUserAdmin, ChokePointAdmin):
    list_display = [
        "username",
        "name",
        "organisation",
        "is_active",
        "is_locked",
        "has_second_factor",
        "last_login",
    ]
    list_filter = ["organisation", "groups", "is_active"]
    search_fields = ["username", "name", "employee_number"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("Person"), {"fields": ["name", "organisation", "employee_number", "phone", "email"]}),
        (_("Roles and status"), {"fields": ["is_active", "groups", "is_staff", "is_superuser"]}),
        (
            _("Sign-in"),
            {"fields": ["locked_at", "failed_logins", "password_changed_at", "has_second_factor"]},
        ),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["username", "name", "organisation", "groups", "password1", "password2"],
            },
        ),
    ]
    readonly_fields = [
        "last_login",
        "date_joined",
        "locked_at",
        "failed_logins",
        "password_changed_at",
        "has_second_factor",
    ]
    change_password_form = AdminSetPasswordForm
    actions = ["unlock_accounts", "reset_second_factor"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields.append("is_superuser")  # only a superuser makes another
        return fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deactivate instead (recorded); see the module docstring

    @admin.display(boolean=True, description=_("locked"))
    def is_locked(self, obj: User) -> bool:
        return security.is_locked(obj)

    @admin.display(boolean=True, description=_("second factor"))
    def has_second_factor(self, obj: User) -> bool:
        return getattr(obj, "confirmed_totp_id", None) is not None

    def get_queryset(self, request):
        from django.db.models import OuterRef, Subquery
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True).values("pk")[:1]
        return super().get_queryset(request).annotate(confirmed_totp_id=Subquery(device))

    # --- writes through the services -------------------------------------------------------------
    def save_model(self, request, obj, form, change):
        roles = None
        if "groups" in form.cleaned_data:
            roles = [group.name for group in form.cleaned_data["groups"]]
        services.save_account(obj, roles=roles, actor=request.user, request=request)

    def save_related(self, request, form, formsets, change):
        # The roles were set by services.save_account(); only inline formsets remain (none today).
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def user_change_password(self, request, id, form_url=""):
        token = admin_request.set(request)
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            admin_request.reset(token)

    @admin.action(description=_("Unlock the selected accounts"), permissions=["change"])
    def unlock_accounts(self, request, queryset):
        with transaction.atomic():
            done = sum(services.unlock(user, actor=request.user, request=request) for user in queryset)
        self.message_user(
            request,
            ngettext("%(count)d account unlocked.", "%(count)d accounts unlocked.", done) % {"count": done},
            messages.SUCCESS,
        )

    @admin.action(description=_("Reset the second factor of the selected accounts"), permissions=["change"])
    def reset_second_factor(self, request, queryset):
        actor = request.user  # resetting one's own second factor logs this request out midway
        with transaction.atomic():
            done = sum(services.reset_mfa(user, actor=actor, request=request) for user in queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d account will set up its second factor again at the next sign-in.",
                "%(count)d accounts will set up their second factor again at the next sign-in.",
                done,
            )
            % {"count": done},
            messages.SUCCESS,
        )


admin.site.unregister(Group)


@admin.register(Group)
class RoleAdmin(AccountsAdminMixin, BaseGroupAdmin, ChokePointAdmin):
    """Roles are seeded by migration and shown read-only (see the module docstring)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RoleNetworkPolicy)
class RoleNetworkPolicyAdmin(AccountsAdminMixin, ChokePointAdmin):
    form = RoleNetworkPolicyForm
    list_display = ["role", "cidr_summary", "note", "updated_at"]
    search_fields = ["role", "cidrs", "note"]

    @admin.display(description=_("allowed networks"))
    def cidr_summary(self, obj: RoleNetworkPolicy) -> str:
        return ", ".join(obj.cidr_list)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def save_model(self, request, obj, form, change):
        services.save_network_policy(obj, actor=request.user, request=request)

    def delete_model(self, request, obj):
        services.delete_network_policy(obj, actor=request.user, request=request)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.delete_network_policy(obj, actor=request.user, request=request)


# A TOTP secret is the user's alone: no back-office page shows devices or their QR codes; an
# administrator resets a second factor with the action above.
try:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    admin.site.unregister(TOTPDevice)
except NotRegistered:
    pass
