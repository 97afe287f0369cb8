"""Check-ins and habit activities: the member's own health records."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

# The domain's symptom list (DOMAIN.md), as stored values and the words shown to people.
SYMPTOMS = {
    "pain": "Pain",
    "hardness": "Hardness",
    "tightness": "Tightness",
    "knots": "Knots",
    "stiffness": "Stiffness",
    "difficulty_moving": "Difficulty moving",
    "headache": "Headache",
    "trigger_point": "Tender spot (trigger point)",
    "referred_pain": "Pain felt away from the muscle (referred pain)",
}
BODY_AREAS = {
    "neck": "Neck",
    "shoulders": "Shoulders",
    "upper_back": "Upper back",
    "lower_back": "Lower back",
    "chest": "Chest",
    "arms": "Arms",
    "hands": "Hands",
    "hips": "Hips",
    "legs": "Legs",
    "feet": "Feet",
    "jaw_head": "Jaw / head",
}
NOTE_MAX_LENGTH = 2000
# Minutes: heat packs, showers and baths beyond this risk superficial burns (DOMAIN.md).
HEAT_MAX_MINUTES = 20


class CheckIn(models.Model):
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="checkins"
    )
    stress = models.PositiveSmallIntegerField()
    pain = models.PositiveSmallIntegerField()
    symptoms = models.JSONField(default=list, blank=True)
    body_areas = models.JSONField(default=list, blank=True)
    note = models.TextField(blank=True, max_length=NOTE_MAX_LENGTH)
    recorded_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-recorded_at", "-id")
        indexes = [models.Index(fields=["member", "-recorded_at"], name="checkin_member_recent")]
        constraints = [
            models.CheckConstraint(condition=Q(stress__lte=10), name="checkin_stress_0_10"),
            models.CheckConstraint(condition=Q(pain__lte=10), name="checkin_pain_0_10"),
        ]

    def __str__(self) -> str:
        return f"Check-in {self.pk} of member {self.member_id}"


class ActivityKind(models.TextChoices):
    MINDFULNESS = "mindfulness", "Mindfulness"
    HYDRATION = "hydration", "Water"
    STRETCH = "stretch", "Stretch"
    MOVEMENT = "movement", "Movement break"
    WARMUP = "warmup", "Warm-up"
    HEAT = "heat", "Heat therapy"


class Activity(models.Model):
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="activities"
    )
    kind = models.CharField(max_length=16, choices=ActivityKind.choices)
    minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    amount_ml = models.PositiveIntegerField(null=True, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-recorded_at", "-id")
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["member", "kind", "-recorded_at"], name="activity_member_kind")
        ]
        constraints = [
            # Water is measured in ml, everything else in minutes; never both.
            models.CheckConstraint(
                condition=(
                    Q(kind="hydration", amount_ml__gte=1, minutes__isnull=True)
                    | (~Q(kind="hydration") & Q(amount_ml__isnull=True))
                ),
                name="activity_unit_matches_kind",
            ),
            models.CheckConstraint(
                condition=~Q(kind="heat") | Q(minutes__gte=1, minutes__lte=HEAT_MAX_MINUTES),
                name="activity_heat_at_most_20_minutes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk} of member {self.member_id}"
