"""Exporting customer lists to CSV and XLSX, filtered like the page, with formulas neutralized."""

import csv
import io

import pytest
from openpyxl import load_workbook

from hub.core import db as hubdb
from hub.core.cells import neutralize
from hub.crm.customers.models import Contact, Customer


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ('=HYPERLINK("http://x","click")', '\'=HYPERLINK("http://x","click")'),
        ("+8613800138000", "'+8613800138000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("华强电子", "华强电子"),
        ("a=b", "a=b"),
        (42, 42),
        (None, None),
    ],
)
def test_neutralize(value, safe):
    assert neutralize(value) == safe


@pytest.fixture
def customers(app, make_user):
    rep, other = make_user("agent"), make_user("agent")
    with hubdb.session_scope(app) as s:
        evil = Customer(
            name='=HYPERLINK("http://evil","点我")',
            owner_id=rep.id,
            city="深圳",
            region="华南",
            notes="@SUM(1+1)",
        )
        evil.contacts.append(Contact(name="-王", phone="+8613800138000"))
        s.add_all(
            [
                evil,
                Customer(name="杭州西湖茶叶", owner_id=rep.id, region="华东"),
                Customer(name="别人的客户", owner_id=other.id, region="华南"),
            ]
        )
    return rep


def test_csv_export_is_the_users_filtered_list_with_formulas_neutralized(client, customers):
    from tests.conftest import login

    login(client, customers.email)
    page = client.get("/customers?region=华南").get_data(as_text=True)
    assert "/customers/export.csv?region=" in page
    # Closed like a server closes it: the streamed response holds the request's session open.
    with client.get("/customers/export.csv?region=华南") as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in response.headers["Content-Disposition"]
        text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0][:3] == ["Id", "Name", "Stage"]
    assert len(rows) == 2  # only the rep's own customer in 华南; not the other rep's
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Name"] == '\'=HYPERLINK("http://evil","点我")'
    assert row["Notes"] == "'@SUM(1+1)"
    assert row["Contacts"] == "'-王 +8613800138000"
    assert row["Region"] == "华南"


def test_xlsx_export_keeps_text_as_text(client, customers):
    from tests.conftest import login

    login(client, customers.email)
    with client.get("/customers/export.xlsx?q=HYPERLINK") as response:
        assert response.status_code == 200
        data = response.get_data()
    wb = load_workbook(io.BytesIO(data))
    ws = wb.active
    header = [c.value for c in ws[1]]
    cells = {h: c for h, c in zip(header, ws[2], strict=True)}
    assert ws.max_row == 2
    assert cells["Name"].value == '\'=HYPERLINK("http://evil","点我")'
    assert cells["Name"].data_type == "s"  # text, not a formula
    assert isinstance(cells["Id"].value, int)


def test_export_needs_sign_in(client):
    assert client.get("/customers/export.csv").status_code == 302
