"""What every API view shares: the one error shape, the schema that documents it, common permissions.

Every 4xx answer of the API has the body::

    {"error": {"code": "<machine code>", "message": "<human sentence>", "fields": {"<field>": ["..."]}}}

``code`` is DRF's error code (``invalid``, ``parse_error``, ``not_authenticated``,
``authentication_failed``, ``token_not_valid``, ``permission_denied``, ``not_found``,
``method_not_allowed``, ``unsupported_media_type``, ``throttled``) or a service's own code for a refused
action (``room_quota``, ``self_follow`` ...). ``fields`` maps input fields to their messages and is
empty when the error is not about one field.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.openapi import AutoSchema
from rest_framework import exceptions, serializers
from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        # Services refuse with Django's ValidationError; to a client that is bad input like any other.
        exc = exceptions.ValidationError(detail=serializers.as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    response.data = {"error": error_body(exc)}
    return response


def error_body(exc: exceptions.APIException) -> dict:
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        return _validation_error_body(exc, detail)
    if isinstance(detail, dict):
        # simplejwt's token errors carry their own code next to the sentence.
        return {
            "code": str(detail.get("code", exc.default_code)),
            "message": _first_message(detail.get("detail", detail)),
            "fields": {},
        }
    code = exc.get_codes()
    return {
        "code": code if isinstance(code, str) else exc.default_code,
        "message": _first_message(detail),
        "fields": {},
    }


def _validation_error_body(exc: exceptions.ValidationError, detail) -> dict:
    non_field_key = api_settings.NON_FIELD_ERRORS_KEY
    if not isinstance(detail, dict):
        detail, codes = {non_field_key: detail}, {non_field_key: exc.get_codes()}
    else:
        codes = exc.get_codes()
    general = detail.get(non_field_key)
    fields = {key: value for key, value in detail.items() if key != non_field_key}
    code = "invalid"
    if general:
        general_codes = codes.get(non_field_key) if isinstance(codes, dict) else None
        if isinstance(general_codes, list) and general_codes and isinstance(general_codes[0], str):
            code = general_codes[0]
        message = _first_message(general)
    elif fields:
        name, errors = next(iter(fields.items()))
        message = f"{name}: {_first_message(errors)}"
    else:
        message = _("Invalid input.")
    return {"code": code, "message": message, "fields": fields}


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        detail = next(iter(detail.values()), "")
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else ""
    return str(detail)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.JSONField(), help_text="Input field → its error messages; empty if none."
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


class ApiAutoSchema(AutoSchema):
    """Documents the error answers every operation can give next to its success answer."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = ["401", "429"]
        if self.method not in SAFE_METHODS or self._get_filter_parameters() or self.get_override_parameters():
            codes.append("400")
        if not all(permission is AllowAny for permission in self.view.permission_classes):
            codes.append("403")
        if "{" in self.path or self._is_list_view():
            codes.append("404")
        for code in sorted(codes):
            responses.setdefault(code, self._get_response_for_code(ErrorSerializer, code))
        return responses


class IsOwnerOrStaff(BasePermission):
    """Changes to an owned object: its owner, or staff."""

    message = gettext_lazy("Only the owner or staff may do this.")

    def has_object_permission(self, request, view, obj) -> bool:
        return request.user.is_staff or obj.owner_id == request.user.pk


class IsOwner(BasePermission):
    """Secrets of an owned object (a stream key): its owner only, not even staff."""

    message = gettext_lazy("Only the owner may do this.")

    def has_object_permission(self, request, view, obj) -> bool:
        return obj.owner_id == request.user.pk
