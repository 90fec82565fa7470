from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tasks import blacklisted_tokens_flush

pytestmark = pytest.mark.django_db


def test_flush_drops_expired_tokens_and_keeps_live_ones(user):
    live = RefreshToken.for_user(user)
    expired = RefreshToken.for_user(user)
    live.blacklist()
    expired.blacklist()
    OutstandingToken.objects.filter(jti=expired["jti"]).update(expires_at=timezone.now() - timedelta(days=1))
    blacklisted_tokens_flush()
    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == [live["jti"]]
    assert BlacklistedToken.objects.get().token.jti == live["jti"]
