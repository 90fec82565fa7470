from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import serializers as jwt_serializers

from accounts.models import User


def _max_length(field: str) -> int:
    return User._meta.get_field(field).max_length


class UserBriefSerializer(serializers.Serializer):
    username = serializers.CharField()
    display_name = serializers.CharField()
    avatar_url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_avatar_url(self, user) -> str | None:
        return user.avatar_url or None


class RegisterInputSerializer(serializers.Serializer):
    username = serializers.CharField(
        max_length=_max_length("username"), validators=[UnicodeUsernameValidator()]
    )
    email = serializers.EmailField(max_length=_max_length("email"))
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    display_name = serializers.CharField(
        max_length=_max_length("display_name"), required=False, allow_blank=True
    )

    def validate(self, attrs: dict) -> dict:
        candidate = User(username=attrs["username"], email=attrs["email"])
        try:
            password_validation.validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as error:
            raise serializers.ValidationError({"password": list(error.messages)}) from None
        return attrs


class MeUpdateInputSerializer(serializers.Serializer):
    display_name = serializers.CharField(
        max_length=_max_length("display_name"), required=False, allow_blank=True
    )
    bio = serializers.CharField(
        max_length=User._meta.get_field("bio").max_length, required=False, allow_blank=True
    )
    # Blank: follow the browser's Accept-Language.
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False, allow_blank=True)


class MeOutputSerializer(UserBriefSerializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    bio = serializers.CharField()
    is_staff = serializers.BooleanField()
    language = serializers.CharField()
    date_joined = serializers.DateTimeField()


class TokenRefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    """simplejwt's refresh, which refuses inactive users, also refusing users deleted since (not a 500)."""

    def validate(self, attrs: dict) -> dict:
        try:
            return super().validate(attrs)
        except User.DoesNotExist:
            raise AuthenticationFailed(
                self.error_messages["no_active_account"], "no_active_account"
            ) from None
