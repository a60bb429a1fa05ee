"""API keys sent as ``Authorization: Bearer <key>`` (see ``stories.models.ApiKey``).

No header, or another scheme (a proxy's Basic auth), means an anonymous client, who sees
what readers see. A Bearer key that is unknown, mistyped or revoked is a 401: a partner
whose key stopped working should be told, not silently shown less.
"""

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from stories.models import ApiKey


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the API key as 'Authorization: Bearer <key>', with nothing else."
            )
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("This API key is not valid.") from None
        api_key = ApiKey.from_key(key)
        if api_key is None:
            raise exceptions.AuthenticationFailed(
                "This API key is not valid: it is mistyped, unknown or has been revoked."
            )
        api_key.note_use()
        return AnonymousUser(), api_key

    def authenticate_header(self, request):
        # Makes DRF answer 401 (with this challenge), not 403, when a key is refused.
        return f'{self.keyword} realm="api"'


class ApiKeySchema(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes the key (and Swagger UI's Authorize button sends it)."""

    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A partner's API key; without one, the API shows what readers see.",
        }
