"""E-mail settings from the environment (EMAIL_URL through dj-email-url, DEFAULT_FROM_EMAIL),
checked in a fresh interpreter as tests/test_settings.py does."""

import json
import os
import subprocess
import sys

from .test_settings import ROOT

PROBE = """
import json
from django.conf import settings
names = ["EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD",
         "EMAIL_USE_TLS", "EMAIL_USE_SSL", "EMAIL_TIMEOUT", "DEFAULT_FROM_EMAIL"]
print(json.dumps({name: getattr(settings, name) for name in names}))
print(json.dumps([name for name in dir(settings) if "URL" in name and "EMAIL" in name]))
"""
SECRET = {"SECRET_KEY": "k" * 50}


def email_settings(tmp_path, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "EMAIL_URL", "DEFAULT_FROM_EMAIL"}
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="newsroom.settings", NEWSROOM_VAR_DIR=str(tmp_path))
    completed = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    values, url_names = completed.stdout.splitlines()
    assert json.loads(url_names) == []  # the URL, which may hold a password, is no setting
    return json.loads(values)


def test_make_run_prints_mail_on_the_console(tmp_path):
    settings = email_settings(tmp_path, DEBUG="1")
    assert settings["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"


def test_production_without_email_url_uses_local_smtp(tmp_path):
    settings = email_settings(tmp_path, **SECRET)
    assert settings["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (settings["EMAIL_HOST"], settings["EMAIL_PORT"]) == ("localhost", 25)
    assert settings["EMAIL_TIMEOUT"] == 10


def test_email_url_names_the_smtp_server(tmp_path):
    settings = email_settings(
        tmp_path,
        **SECRET,
        EMAIL_URL="smtp://desk%40news.example:p%40ss@mail.news.example:587/?tls=True&timeout=5",
        DEFAULT_FROM_EMAIL="Desk <desk@news.example>",
    )
    assert settings == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.news.example",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "desk@news.example",
        "EMAIL_HOST_PASSWORD": "p@ss",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
        "EMAIL_TIMEOUT": 5,
        "DEFAULT_FROM_EMAIL": "Desk <desk@news.example>",
    }


def test_email_url_overrides_the_console_under_debug(tmp_path):
    settings = email_settings(tmp_path, DEBUG="1", EMAIL_URL="smtp://mail.example:465/?ssl=True")
    assert settings["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert settings["EMAIL_USE_SSL"] is True
