from django.contrib.auth.signals import user_logged_in
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenBlacklistSerializer
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts import services
from accounts.activity import activity_record, client_ip
from accounts.models import ActivityLog
from accounts.serializers import (
    MeOutputSerializer,
    MeUpdateInputSerializer,
    RegisterInputSerializer,
    TokenRefreshSerializer,
)


class AuthEndpointMixin:
    """Credentials in the body, not a session: no session auth (and so no CSRF), a tight rate per address."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_scope = "auth"

    def get_authenticate_header(self, request):
        # Without it DRF turns a refused token into a 403; clients expect 401 with a challenge, as simplejwt sends.
        return JWTAuthentication().authenticate_header(request)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        add_never_cache_headers(response)  # tokens must never sit in a browser or proxy cache
        return response


class RegisterApi(AuthEndpointMixin, APIView):
    @extend_schema(request=RegisterInputSerializer, responses={201: MeOutputSerializer}, summary=_("Sign up"))
    def post(self, request):
        data = RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not services.signup_allowed(ip_address=client_ip(request)):
            activity_record(action=ActivityLog.Action.SIGNUP_LIMITED, request=request)
            raise Throttled(detail=_("Too many sign-ups from your address. Please try again later."))
        user = services.user_register(**data.validated_data)
        services.email_verification_after_signup(
            user=user,
            confirm_url=lambda token: request.build_absolute_uri(
                reverse("email_verify_confirm", args=[token])
            ),
        )
        return Response(MeOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenObtainApi(AuthEndpointMixin, TokenObtainPairView):
    """Username and password → an access token (15 minutes) and a refresh token."""

    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        # Inactive users fail here like a wrong password: Django's ModelBackend does not authenticate them.
        serializer.is_valid(raise_exception=True)
        # The same signal a page log-in sends: last_login and the activity log follow from it.
        user_logged_in.send(sender=serializer.user.__class__, request=request, user=serializer.user)
        return Response(serializer.validated_data)


class TokenRefreshApi(AuthEndpointMixin, TokenRefreshView):
    """A refresh token → a new access token and a new refresh token; the one sent is blacklisted."""

    serializer_class = TokenRefreshSerializer


class LogoutInputSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class LogoutApi(AuthEndpointMixin, APIView):
    @extend_schema(
        request=LogoutInputSerializer,
        responses={204: OpenApiResponse(description=_("The refresh token is revoked."))},
        summary=_("Log out: revoke a refresh token (access tokens expire within 15 minutes)"),
    )
    def post(self, request):
        serializer = TokenBlacklistSerializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as error:
            raise InvalidToken(error.args[0]) from error
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeOutputSerializer, summary=_("The signed-in user"))
    def get(self, request):
        return Response(MeOutputSerializer(request.user).data)

    @extend_schema(
        request=MeUpdateInputSerializer, responses=MeOutputSerializer, summary=_("Edit your profile")
    )
    def patch(self, request):
        data = MeUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.profile_update(user=request.user, **data.validated_data)
        return Response(MeOutputSerializer(user).data)
