from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from gwanje.accounts.models import Organisation, User
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
    list_display = ["username", "name", "organisation", "is_active", "last_login"]
    list_filter = ["organisation", "groups", "is_active"]
    search_fields = ["username", "name", "employee_number"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("Person"), {"fields": ["name", "organisation", "employee_number", "phone", "email"]}),
        (_("Roles and status"), {"fields": ["is_active", "groups", "is_staff", "is_superuser"]}),
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
    readonly_fields = ["last_login", "date_joined"]


admin.site.unregister(Group)


@admin.register(Group)
class RoleAdmin(AccountsAdminMixin, BaseGroupAdmin, ChokePointAdmin):
    pass
