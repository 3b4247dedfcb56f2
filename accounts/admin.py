from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import PortfolioState, User


class PortfolioStateInline(admin.TabularInline):
    model = PortfolioState
    extra = 0


@admin.register(User)
class DiplomacyUserAdmin(UserAdmin):
    list_display = ["username", "email", "role", "is_active", "is_superuser"]
    list_filter = ["role", "is_active", "is_superuser"]
    fieldsets = UserAdmin.fieldsets + (("Role", {"fields": ["role", "home_cities", "portfolio_all"]}),)
    autocomplete_fields = ["home_cities"]
    inlines = [PortfolioStateInline]
