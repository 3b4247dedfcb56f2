from django.urls import path

from . import views

urlpatterns = [
    path("cities/search/", views.city_search, name="city-search"),
    path("cities/<slug:slug>/office/", views.office_edit, name="office-edit"),
    path("office/", views.my_office, name="my-office"),
    path("organizations/search/", views.organization_search, name="organization-search"),
    path("organizations/new/", views.organization_create, name="organization-create"),
    path("memberships/", views.membership_list, name="membership-list"),
    path("memberships/new/", views.membership_create, name="membership-create"),
    path("memberships/<int:pk>/", views.membership_detail, name="membership-detail"),
    path("memberships/<int:pk>/edit/", views.membership_edit, name="membership-edit"),
]
