"""Accounts API: register, token, password change and reset, export, erase."""

from __future__ import annotations

from django.contrib.auth import update_session_auth_hash
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import serializers
from apps.accounts.export import member_export
from apps.accounts.services import (
    member_create,
    password_reset_confirm,
    password_reset_send,
    password_set,
    token_for,
)


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    throttle_scope = "register"

    @extend_schema(
        request=serializers.RegistrationSerializer,
        responses={201: serializers.AccountSerializer},
        examples=[
            OpenApiExample(
                "New member",
                value={
                    "email": "ana@example.org",
                    "password": "slow-breaths-at-noon",
                    "timezone": "Europe/Lisbon",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        incoming = serializers.RegistrationSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        user = member_create(**incoming.validated_data)
        return Response(serializers.AccountSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenView(APIView):
    """Exchange email and password for the API token (one per account, reused)."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    throttle_scope = "auth_token"

    @extend_schema(
        request=serializers.TokenRequestSerializer,
        responses={200: serializers.TokenSerializer},
        examples=[
            OpenApiExample(
                "Log in",
                value={"email": "ana@example.org", "password": "slow-breaths-at-noon"},
                request_only=True,
            ),
            OpenApiExample("Token", value={"token": "9944b09199c62bcf9418ad846dd0e4bb"}),
        ],
    )
    def post(self, request: Request) -> Response:
        incoming = serializers.TokenRequestSerializer(
            data=request.data, context={"request": request}
        )
        incoming.is_valid(raise_exception=True)
        return Response({"token": token_for(user=incoming.validated_data["user"]).key})


class PasswordChangeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=serializers.PasswordChangeSerializer,
        responses={200: serializers.TokenSerializer},
        description="Every API token and every other browser session ends; the answer "
        "carries the new token. This browser session stays logged in.",
        examples=[
            OpenApiExample(
                "Change",
                value={"old_password": "slow-breaths-at-noon", "new_password": "walk-after-lunch"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        incoming = serializers.PasswordChangeSerializer(
            data=request.data, context={"request": request}
        )
        incoming.is_valid(raise_exception=True)
        token = password_set(
            user=request.user, new_password=incoming.validated_data["new_password"]
        )
        if request._request.session.session_key:
            update_session_auth_hash(request._request, request.user)  # keep this one
        return Response({"token": token.key})


class PasswordResetView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    throttle_scope = "password_reset"

    @extend_schema(
        request=serializers.PasswordResetSerializer,
        responses={202: None},
        examples=[OpenApiExample("Forgot", value={"email": "ana@example.org"}, request_only=True)],
        description="Emails a reset link if the address has an account. The answer is the "
        "same either way, so it never tells whether an email is registered.",
    )
    def post(self, request: Request) -> Response:
        incoming = serializers.PasswordResetSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        password_reset_send(email=incoming.validated_data["email"], request=request._request)
        return Response(status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    throttle_scope = "password_reset"

    @extend_schema(
        request=serializers.PasswordResetConfirmSerializer,
        responses={204: None},
        examples=[
            OpenApiExample(
                "From the emailed link /accounts/reset/<uid>/<token>/",
                value={"uid": "MTI", "token": "cdzt1k-0f1e2d", "new_password": "walk-after-lunch"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        incoming = serializers.PasswordResetConfirmSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        password_reset_confirm(**incoming.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ExportView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: dict}, description="Every record held about you, as JSON.")
    def get(self, request: Request) -> Response:
        response = Response(member_export(member=request.user))
        response["Content-Disposition"] = 'attachment; filename="stressrelief-export.json"'
        return response
