"""What the sales and money API tests (opportunities, orders, complaints, receivables, credit)
repeat: a client signed in by token, checked answers to creates and changes, list pages and the
fields a 422 names."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from hub.core.auth import User
from tests.crm_helpers import api, token_for


def api_as(app: Flask, user: User) -> Any:
    """A JSON client on /api/v1 with a fresh token of `user`."""
    return api(app.test_client(), token_for(app, user))


@pytest.fixture
def director_api(app: Flask, make_user: Any) -> tuple[Any, User]:
    """A director's API client, and the director."""
    user = make_user("director")
    return api_as(app, user), user


def fresh(db: Session, model: Any, id_: int) -> Any:
    """The row as stored now: what the requests wrote, not what this session remembers."""
    db.expire_all()
    return db.get(model, id_)


def expect(response: TestResponse, status: int) -> Any:
    """The JSON of an answer that must have `status`; the body is shown when it has another."""
    assert response.status_code == status, response.get_json()
    return response.get_json()


def created(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to a list: 201, and a Location naming the new record under the same path."""
    response = client.post(path, json=body)
    record = expect(response, 201)
    assert response.headers["Location"].endswith(f"/api/v1{path}/{record['id']}")
    return record


def changed(client: Any, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    """PATCH a record: the answer's JSON, once its status is checked."""
    return expect(client.patch(path, json=body), status)


def items(client: Any, path: str) -> list[dict[str, Any]]:
    """One page of a list."""
    return expect(client.get(path), 200)["items"]


def all_pages(client: Any, path: str) -> list[dict[str, Any]]:
    """Every item of a list, following its `next` links to the end."""
    seen: list[dict[str, Any]] = []
    url: str | None = path
    while url:
        page = expect(client.get(url.split("/api/v1", 1)[-1]), 200)
        seen += page["items"]
        url = page["next"]
    return seen


def error_fields(answer: TestResponse | dict[str, Any]) -> list[str]:
    """The fields a problem answer names, in its order."""
    body = answer.get_json() if isinstance(answer, TestResponse) else answer
    return [e["field"] for e in body["errors"]]


def line(product: str = "Widget", quantity: str = "1", unit_price: str = "10") -> dict[str, str]:
    """One order line as the API and the service take it."""
    return {"product": product, "quantity": quantity, "unit_price": unit_price}


def order_body(number: str, order_date: str, amount: str, **extra: Any) -> dict[str, Any]:
    """An order of one line of steel worth `amount`."""
    return {"contract_number": number, "order_date": order_date,
            "lines": [line("Steel", "1", amount)], **extra}
