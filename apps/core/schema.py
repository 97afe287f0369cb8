"""OpenAPI schema (drf-spectacular) adjustments shared by the API views.

Its own module: apps.core.api is loaded by DRF's settings (parsers, pagination), and
drf_spectacular.openapi loads DRF's settings, so importing it there would be circular.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema


class DeleteWithBodySchema(AutoSchema):
    """drf-spectacular's schema for a view whose DELETE reads a JSON body (`me/` takes
    `{password}`, `care-team/` `{id}`, `push-subscriptions/` `{endpoint}`): drf-spectacular
    documents bodies for POST, PUT and PATCH only, so clients and fuzzers (schemathesis,
    issue 8) were told those DELETEs take nothing and got a 400 for following the schema.
    Set per view (`schema = DeleteWithBodySchema()`): a generic view's DELETE has no body."""

    def _get_request_body(self, direction: str = "request") -> Any:
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        # The parent's one test is the method; the body is built the same way as a POST's.
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"
