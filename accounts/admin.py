from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.core.models import Centre, Institution, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "name", "role", "centre", "institution", "is_active"]
    # Both are nullable, which the admin's automatic select_related() skips: a query per row.
    list_select_related = ["centre", "institution"]
    list_filter = ["role", "centre", "is_active"]
    search_fields = ["username", "name", "email", "phone"]
    ordering = ["username"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("name", "email", "phone")}),
        (_("Role"), {"fields": ("role", "centre", "institution")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "name", "email", "role", "password1", "password2"),
            },
        ),
    )


@admin.register(Centre)
class CentreAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "parent", "is_active"]
    list_select_related = ["parent"]  # nullable: not in the admin's automatic select_related()
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name"]


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "credit_code", "centre", "is_active"]
    list_select_related = ["centre"]  # nullable: not in the admin's automatic select_related()
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "credit_code"]
