"""English and Simplified Chinese: Accept-Language, the user's choice, and complete catalogs."""

import io
import subprocess
import sys

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from hub.core.paths import PACKAGE_DIR
from tests.conftest import REPO, csrf_token, login

ZH = PACKAGE_DIR / "translations" / "zh_Hans" / "LC_MESSAGES"


def test_login_page_in_english_by_default(client):
    body = client.get("/login").get_data(as_text=True)
    assert "<h1>Sign in</h1>" in body
    assert 'lang="en"' in body


def test_login_page_in_chinese_for_a_chinese_browser(client):
    for header in ("zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans", "zh-TW"):
        body = client.get("/login", headers={"Accept-Language": header}).get_data(as_text=True)
        assert "<h1>登录</h1>" in body, header
        assert 'lang="zh-Hans"' in body


def test_english_first_browser_gets_english(client):
    body = client.get("/login", headers={"Accept-Language": "en-GB,zh;q=0.5"}).get_data(
        as_text=True
    )
    assert "<h1>Sign in</h1>" in body


def test_the_users_choice_beats_the_browser_and_is_remembered(app, client, make_user):
    user = make_user("agent")
    login(client, user.email)
    client.post(
        "/language", data={"lang": "zh_Hans", "next": "/", "csrf_token": csrf_token(client, "/")}
    )
    other = app.test_client()  # another browser, English-speaking, same user
    login(other, user.email)
    body = other.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "客户" in body and "退出" in body


def test_language_switch_works_before_signing_in(client):
    client.post(
        "/language", data={"lang": "zh_Hans", "next": "/login", "csrf_token": csrf_token(client)}
    )
    assert "<h1>登录</h1>" in client.get("/login").get_data(as_text=True)


def test_every_message_in_the_code_has_a_chinese_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(REPO / "babel.cfg"),
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            "--no-location",
            "--omit-header",
            str(REPO),
        ],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    with open(pot, "rb") as fh:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    with open(ZH / "messages.po", "rb") as fh:
        catalog = read_po(fh)
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id
        and m.string
        and (m.string if isinstance(m.string, str) else all(m.string))
        and not m.fuzzy
    }
    assert sorted(wanted - translated) == []


def test_compiled_catalog_matches_the_po_file():
    def as_dict(catalog):
        return {_key(m.id): _key(m.string) for m in catalog if m.id and not m.fuzzy}

    with open(ZH / "messages.po", "rb") as fh:
        po = as_dict(read_po(fh))
    with open(ZH / "messages.mo", "rb") as fh:
        mo = as_dict(read_mo(io.BytesIO(fh.read())))
    assert mo == po, "run: pybabel compile -d hub/translations"


def _key(value):
    return tuple(value) if isinstance(value, list | tuple) else value
