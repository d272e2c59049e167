import stat

import pytest

from hub.core.config import ConfigError, instance_secret_key, load_settings


def test_defaults_need_no_environment(tmp_path):
    s = load_settings({"HUB_INSTANCE_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    assert s.redis_url is None  # the embedded server
    assert s.default_region == "CN"
    assert s.timezone == "Asia/Shanghai"
    assert not s.https
    assert s.provider_timeout == 15.0 and s.provider_settle.total_seconds() == 30
    assert s.campaign_lease == 120


def test_every_problem_is_listed_at_once():
    with pytest.raises(ConfigError) as info:
        load_settings(
            {
                "HUB_DATABASE_URL": "mysql://x/y",
                "HUB_REDIS_URL": "http://nope",
                "HUB_SECRET_KEY": "short",
                "HUB_DEFAULT_REGION": "XX",
                "HUB_TIMEZONE": "Mars/Base",
                "TWILIO_ACCOUNT_SID": "AC123",
                "TWILIO_FROM_NUMBER": "12345",
                "HUB_PUBLIC_URL": "ftp://host",
                "HUB_PROXY_COUNT": "two",
                "HUB_PROVIDER_TIMEOUT": "nan",
                "HUB_CAMPAIGN_LEASE": "5",
            }
        )
    message = str(info.value)
    for name in (
        "HUB_DATABASE_URL",
        "HUB_REDIS_URL",
        "HUB_SECRET_KEY",
        "HUB_DEFAULT_REGION",
        "HUB_TIMEZONE",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_FROM_NUMBER",
        "HUB_PUBLIC_URL",
        "HUB_PROXY_COUNT",
        "HUB_PROVIDER_TIMEOUT",
        "HUB_CAMPAIGN_LEASE",
    ):
        assert name in message
    assert len(info.value.problems) == 11


def test_plain_postgresql_url_uses_psycopg3_and_https_marks_cookies_secure():
    s = load_settings(
        {"HUB_DATABASE_URL": "postgresql://u@h/db", "HUB_PUBLIC_URL": "https://hub.example.com/"}
    )
    assert s.database_url == "postgresql+psycopg://u@h/db"
    assert s.public_url == "https://hub.example.com"
    assert s.https


def test_secret_key_is_generated_once_and_private(tmp_path):
    first = instance_secret_key(tmp_path)
    assert len(first) >= 32
    assert instance_secret_key(tmp_path) == first
    mode = stat.S_IMODE((tmp_path / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_import_files_are_kept_thirty_days_unless_set():
    assert load_settings({}).import_file_days == 30
    assert load_settings({"HUB_IMPORT_FILE_DAYS": "7"}).import_file_days == 7
    for wrong in ("0", "seven", "99999"):
        with pytest.raises(ConfigError) as info:
            load_settings({"HUB_IMPORT_FILE_DAYS": wrong})
        assert info.value.problems == [
            f"HUB_IMPORT_FILE_DAYS={wrong!r} is not a number of days from 1 to 3650"
        ]
