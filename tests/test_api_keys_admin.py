"""Editors manage partners' API keys in the admin; reporters never see them."""

import re

import pytest

from stories.models import ApiKey

pytestmark = pytest.mark.django_db

ADD = "/admin/stories/apikey/add/"
LIST = "/admin/stories/apikey/"


def test_an_editor_makes_a_key_and_sees_it_once(client, editor_user):
    client.force_login(editor_user)
    response = client.post(ADD, {"name": "Wire partner", "scopes": ["embargo"]})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = re.search(r'value="(nrk_[^"]+)"', response.content.decode()).group(1)
    api_key = ApiKey.objects.get()
    assert ApiKey.from_key(key) == api_key
    assert api_key.scopes == ["embargo"] and api_key.created_by == editor_user
    # Never again: not on the list, not on the key's own page.
    for url in (LIST, f"{LIST}{api_key.pk}/change/"):
        page = client.get(url).content.decode()
        assert api_key.prefix in page and key not in page
    assert client.get("/api/v1/stories/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200


def test_a_key_needs_a_one_line_name(client, editor_user):
    client.force_login(editor_user)
    response = client.post(ADD, {"name": "two\r\nlines", "scopes": []})
    assert response.status_code == 200
    assert not ApiKey.objects.exists()
    assert "errorlist" in response.content.decode()


def test_an_editor_revokes_keys_and_cannot_delete_them(client, editor_user):
    client.force_login(editor_user)
    api_key, key = ApiKey.issue("Partner")
    response = client.post(
        LIST, {"action": "revoke", "_selected_action": [api_key.pk]}, follow=True
    )
    assert "Revoked 1 key" in response.content.decode()
    api_key.refresh_from_db()
    assert api_key.is_revoked
    assert client.get("/api/v1/stories/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    assert client.get(f"{LIST}{api_key.pk}/delete/").status_code == 403
    # Revoked is final: the key's page is read-only.
    client.post(f"{LIST}{api_key.pk}/change/", {"name": "Renamed", "scopes": []})
    api_key.refresh_from_db()
    assert api_key.name == "Partner"


def test_reporters_never_see_api_keys(client, reporter_user):
    ApiKey.issue("Partner")
    client.force_login(reporter_user)
    assert client.get(LIST).status_code == 403
    assert client.post(ADD, {"name": "Mine", "scopes": ["embargo"]}).status_code == 403
    assert ApiKey.objects.count() == 1
    assert "apikey" not in client.get("/admin/").content.decode()
