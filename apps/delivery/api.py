"""`push-subscriptions/`: a member registers or removes a browser's Web Push subscription."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.schema import DeleteWithBodySchema
from apps.delivery import serializers
from apps.delivery.webpush import push_subscription_delete, push_subscription_save

EXAMPLE_ENDPOINT = "https://fcm.googleapis.com/fcm/send/dPq1ZcW8zZ0:APA91bH-example"


class PushSubscriptionView(APIView):
    """POST what `PushSubscription.toJSON()` gave the browser; DELETE it on unsubscribe."""

    schema = DeleteWithBodySchema()  # DELETE reads a body: document it
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=serializers.PushSubscriptionSerializer,
        responses={201: serializers.PushSubscriptionReadSerializer},
        description=(
            "Register this browser for push nudges, or re-activate it (also after the push "
            "service reported it gone). `keys` are url-safe base64: `p256dh` a 65-byte "
            "uncompressed P-256 key, `auth` 16 bytes."
        ),
        examples=[
            OpenApiExample(
                "A subscription from Chrome",
                value={
                    "endpoint": EXAMPLE_ENDPOINT,
                    "keys": {
                        "p256dh": "BLtpb9cA11Y5KbPNsL8UJ18eLyviwlsdunyL2Yu2TBdIdGyajrPWj_bUGmUM"
                        "Fc6lCB9cq1b3b_TUZP6Boz2KDN0",
                        "auth": "bw0nWTcQrZz_aZgZwDlNAw",
                    },
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        incoming = serializers.PushSubscriptionSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        subscription = push_subscription_save(member=request.user, **incoming.validated_data)
        return Response(
            serializers.PushSubscriptionReadSerializer(subscription).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=serializers.PushSubscriptionRemovalSerializer,
        responses={204: None},
        examples=[
            OpenApiExample(
                "Stop pushing to this browser",
                value={"endpoint": EXAMPLE_ENDPOINT},
                request_only=True,
            )
        ],
        operation_id="v1_push_subscriptions_remove",
        description=(
            'Stop pushing to a browser. Body: `{"endpoint": "<the registered URL>"}`. '
            "An endpoint that is not one of yours is a 404."
        ),
    )
    def delete(self, request: Request) -> Response:
        incoming = serializers.PushSubscriptionRemovalSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        if not push_subscription_delete(
            member=request.user, endpoint=incoming.validated_data["endpoint"]
        ):
            raise NotFound("Not found.")
        return Response(status=status.HTTP_204_NO_CONTENT)
