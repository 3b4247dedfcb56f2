from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/<slug:chart>.csv", views.dashboard_csv, name="dashboard-csv"),
    path("cities/<slug:slug>/", views.city_profile, name="city-profile"),
    path("networks/<slug:slug>/", views.network_detail, name="network-detail"),
    path("review/", views.review_queue, name="review"),
    path("review/<int:pk>/", views.review_engagement, name="review-engagement"),
]
