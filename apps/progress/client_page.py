"""What the therapist's client page and the clients CSV show, built from the progress
selectors and the client's link (its shares decide every section)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.formats import date_format

from apps.careteam.models import TherapistNote
from apps.careteam.permissions import prescriptions_of_therapist
from apps.progress import charts
from apps.progress.figures import TREND_ARROWS, KindFigures, tally_sum
from apps.progress.overview import ClientOverview
from apps.progress.selectors import ADHERENCE, CHECKINS, progress_for_member
from apps.reminders.models import Nudge, NudgeKind
from apps.tracking.models import BODY_AREAS, SYMPTOMS, CheckIn

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.careteam.models import CareLink

PAGE_DAYS = 90
RECENT_CHECKINS = 20
RECENT_NUDGES = 30
# Series classes and colours come from charts.py; one per nudge kind for the weekly bars.
KIND_CLASSES = {kind: f"kind-{kind}" for kind in NudgeKind.values}


def weekly(kind: KindFigures) -> list[tuple[date, float | None]]:
    """Adherence per 7-day block, oldest first, the last block ending today; None for a
    week without an expected nudge."""
    blocks = [kind.daily[max(0, end - 7) : end] for end in range(len(kind.daily), 0, -7)]
    weeks = []
    for block in reversed(blocks):
        total = tally_sum(tally for _, tally in block)
        weeks.append((block[0][0], total.adherence if total.expected else None))
    return weeks


def context(*, link: CareLink, therapist: User, overview: ClientOverview) -> dict[str, Any]:
    member = link.member
    include = frozenset(
        category
        for category, shared in ((ADHERENCE, link.share_adherence), (CHECKINS, link.share_checkins))
        if shared
    )
    progress = progress_for_member(
        member=member, now=timezone.now(), days=PAGE_DAYS, include=include
    )
    page: dict[str, Any] = {
        "link": link,
        "member": member,
        "overview": overview,
        "progress": progress,
        "time_zone": member.profile.timezone,
        "stretches": prescriptions_of_therapist(therapist=therapist)
        .filter(member=member)
        .order_by("retired_at", "-created_at"),
        "notes": TherapistNote.objects.filter(therapist=therapist, member=member)[:50],
        "add_stretch_url_query": f"?member={member.pk}",
    }
    if progress.kinds is not None:
        kinds = progress.kinds
        page["kind_rows"] = [
            {"label": NudgeKind(name).label, "figures": kinds[name]} for name in kinds
        ]
        weeks_by_kind = {name: weekly(kinds[name]) for name in kinds}
        first_kind = next(iter(weeks_by_kind.values()))
        page["adherence_chart"] = charts.grouped_bar_chart(
            title="Adherence per week, by nudge",
            groups=[f"w/c {date_format(start, 'j M')}" for start, _ in first_kind],
            series=[
                charts.GroupSeries(
                    name=NudgeKind(name).label,
                    values=[value for _, value in weeks],
                    css_class=KIND_CLASSES[name],
                )
                for name, weeks in weeks_by_kind.items()
            ],
        )
        page["nudges"] = [
            {
                "due": nudge.due_at,  # the template shows it in the client's zone
                "kind": nudge.get_kind_display(),
                "status": nudge.get_status_display(),
                "reason": nudge.get_suppressed_reason_display(),
            }
            for nudge in Nudge.objects.filter(member=member).order_by("-due_at", "-id")[
                :RECENT_NUDGES
            ]
        ]
    if progress.symptoms is not None:
        symptoms = progress.symptoms
        page["symptoms_chart"] = charts.line_chart(
            title=f"Daily stress and pain, last {PAGE_DAYS} days",
            days=progress.period,
            series=[
                charts.Series("Stress", [v for _, v in symptoms.stress_daily], "stress"),
                charts.Series("Pain", [v for _, v in symptoms.pain_daily], "pain"),
            ],
            y_label="0-10",
        )
        page["checkins"] = [
            {
                "at": checkin.recorded_at,
                "stress": checkin.stress,
                "pain": checkin.pain,
                "symptoms": ", ".join(SYMPTOMS.get(s, s) for s in checkin.symptoms),
                "body_areas": ", ".join(BODY_AREAS.get(a, a) for a in checkin.body_areas),
                # The note only where the client shares notes: not even in the context else.
                "note": checkin.note if link.share_notes else None,
            }
            for checkin in CheckIn.objects.filter(member=member).order_by("-recorded_at", "-id")[
                :RECENT_CHECKINS
            ]
        ]
        page["stress_arrow"] = TREND_ARROWS[symptoms.stress.trend]
        page["pain_arrow"] = TREND_ARROWS[symptoms.pain.trend]
    return page


# --- CSV of the clients list --------------------------------------------------------------
CSV_HEADER = [
    "client",
    "email",
    "time zone",
    "last activity (UTC)",
    "adherence 7 days",
    "adherence 30 days",
    "habit score",
    "stress trend",
    "latest pain",
    "pain change (week over week)",
    "persistent pain",
    "needs attention",
]


def _text_cell(value: str) -> str:
    """Text people typed (a name): a spreadsheet must not run `=HYPERLINK(...)` as a
    formula. Figures are written as they are, so they stay numbers."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_row(overview: ClientOverview) -> list[str]:
    member = overview.member
    adherence = overview.shares_adherence
    checkins = overview.shares_checkins
    last = overview.last_activity_at
    return [
        "" if value is None else str(value)
        for value in (
            _text_cell(member.display_name or member.email),
            _text_cell(member.email),
            member.profile.timezone,
            last.strftime("%Y-%m-%d %H:%M") if last else "",
            f"{overview.adherence_7d:.3f}" if adherence else "not shared",
            f"{overview.adherence_30d:.3f}" if adherence else "not shared",
            f"{overview.habit_score:.3f}" if adherence else "not shared",
            overview.stress.trend if checkins and overview.stress else "not shared",
            overview.latest_pain if checkins else "not shared",
            (f"{overview.pain.change:+.1f}" if overview.pain.change is not None else "")
            if checkins and overview.pain
            else "not shared",
            ("yes" if overview.persistent_pain else "no") if checkins else "not shared",
            "; ".join(reason.words for reason in overview.reasons),
        )
    ]
