"""A URL under /api/ that matches no route answers in the API's error format."""

from __future__ import annotations

import pytest


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/checkins/null/", "/api/v1/no-such-thing/", "/api/"])
def test_an_unrouted_api_path_is_a_json_404(client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_an_unrouted_page_keeps_the_sites_html_404(client) -> None:
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
