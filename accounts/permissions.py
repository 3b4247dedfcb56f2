"""The access policy applied to API requests (DRF's DEFAULT_PERMISSION_CLASSES)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from .policy import can, writes_any


class PolicyPermission(BasePermission):
    """Signed-in callers read what their querysets show them. A create needs a role that writes
    this kind of record at all; a change needs `can` on the record itself: a record the caller
    sees but may not change is a 403 (one they cannot see was already a 404).

    Asks the view (`utilities.api.ApiViewSet`) which model a create makes (`get_write_model`)
    and what a write to one record does (`get_object_action`)."""

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in SAFE_METHODS or getattr(view, "detail", False):
            # A write to one record is judged on that record, after it is found: a record the
            # caller cannot see must answer 404 whatever their role.
            return True
        return writes_any(request.user, view.get_write_model())

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return True
        return can(request.user, view.get_object_action(), obj)
