"""The API is described by OpenAPI 3 at /api/schema/ with interactive docs that need no CDN."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_schema_is_openapi_3(client: Client) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_the_docs_page_loads_its_assets_from_this_server_only(client: Client) -> None:
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert_no_remote_assets(response.content.decode())


def assert_no_remote_assets(html: str) -> None:
    remote = re.findall(r"""(?:src|href)=["'](https?:)?//""", html)
    assert remote == [], "the page loads assets from another host"


def test_the_schema_generates_without_warnings_and_every_request_body_has_an_example() -> None:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)

    missing = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
        and not any(
            content.get("examples") for content in operation["requestBody"]["content"].values()
        )
    ]
    assert missing == []
