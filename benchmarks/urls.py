"""The product's URLs plus the bare comparison view; never part of the product's URLconf."""

from django.urls import path

from diplomacy.urls import urlpatterns as product_urlpatterns

from .views import bare_engagements

urlpatterns = [path("bench/bare/engagements/", bare_engagements), *product_urlpatterns]
