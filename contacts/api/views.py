from django.core.exceptions import ValidationError
from rest_framework import mixins

from accounts.policy import restrict
from contacts.filters import ContactFilterSet
from contacts.models import Contact
from contacts.services import save_contact
from utilities.api import ApiViewSet, CreateMixin, PartialUpdateMixin
from utilities.csv import csv_response
from utilities.serializers import as_drf_error

from .serializers import ContactSerializer


class ContactViewSet(CreateMixin, PartialUpdateMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """The people cities deal with (SPEC §8.4). Internal readers only: a partner's list is empty and
    every contact a 404 to them. The home city's staff and admins add and correct contacts."""

    serializer_class = ContactSerializer
    filterset_class = ContactFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]
    csv_filename = "contacts.csv"

    def get_queryset(self):
        queryset = Contact.objects.select_related("home_city", "city", "country").order_by("name", "pk")
        return restrict(queryset, self.request.user)

    def get_write_model(self):
        return Contact

    def perform_write(self, serializer, instance):
        data = dict(serializer.validated_data)
        confirm = data.pop("confirm_duplicate", False)
        try:
            return save_contact(actor=self.request.user, data=data, contact=instance, confirm_duplicate=confirm)
        except ValidationError as error:
            raise as_drf_error(error) from error

    def csv_response(self, queryset):
        # The export has the fields a contact reads as, not the flag a create may send.
        serializer = self.get_serializer_class()(context={**self.get_serializer_context(), "expand": ()})
        header = [name for name, field in serializer.fields.items() if not field.write_only]
        return csv_response(self.csv_filename, header, self.csv_rows(queryset, serializer))
