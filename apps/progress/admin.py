"""The therapist's admin: the clients list (figures, attention, filters, CSV) and each
client's page (charts, check-ins, nudges, prescribed stretches, private notes).

Who sees what is decided in querysets, never by hiding links: every page starts from
`clients_with_adherence(therapist=request.user)`, the active links of the user looking,
so a guessed id of anyone else's client is a 404, and a superuser sees only their own
clients (administrators run accounts; members' health data is for their therapists).
Figures of a category a client does not share are never computed or shown.
"""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.core.paginator import InvalidPage
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.timesince import timesince

from apps.careteam.models import AccessCategory
from apps.careteam.permissions import (
    prescriptions_of_therapist,
    request_is_from_therapist,
    shared_categories,
)
from apps.careteam.services import (
    access_log_record,
    access_log_record_list,
    prescribed_stretch_retire,
    therapist_note_add,
)
from apps.progress import client_page
from apps.progress.attention import REASON_CODES
from apps.progress.figures import TREND_ARROWS
from apps.progress.models import Client
from apps.progress.overview import ClientOverview, client_overviews, clients_with_adherence

_CLIENTS = "_progress_clients_queryset"
_OVERVIEWS = "_progress_client_overviews"


def _clients(request: HttpRequest) -> QuerySet[Client]:
    """The user's clients with sortable adherence; one `now` per request."""
    if not hasattr(request, _CLIENTS):
        queryset = clients_with_adherence(therapist=request.user, now=timezone.now(), model=Client)
        setattr(request, _CLIENTS, queryset)
    return getattr(request, _CLIENTS)._clone()


def _overviews(
    request: HttpRequest, links: list[Client] | None = None
) -> dict[int, ClientOverview]:
    """Figures and attention reasons by link id, computed once per request: for every
    client when a filter needs them all, else for the `links` of the page (whose rows are
    loaded already, so two more queries)."""
    if not hasattr(request, _OVERVIEWS):
        overviews = client_overviews(
            therapist=request.user,
            now=timezone.now(),
            links=_clients(request) if links is None else links,
        )
        setattr(request, _OVERVIEWS, {overview.link.pk: overview for overview in overviews})
    return getattr(request, _OVERVIEWS)


class AttentionFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "attention"
    ANY = "any"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(self.ANY, "For any reason"), *REASON_CODES.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Client]) -> QuerySet[Client]:
        wanted = self.value()
        if not wanted:
            return queryset
        # "No activity for 2+ days" includes the stalled: they are quiet for 2+ days too.
        wanted_codes = {"no_activity", "stalled"} if wanted == "no_activity" else {wanted}
        matching = [
            link_id
            for link_id, overview in _overviews(request).items()
            if overview.reasons
            and (wanted == self.ANY or wanted_codes & {r.code for r in overview.reasons})
        ]
        return queryset.filter(pk__in=matching)


# What the list, its figures (client_overviews) and its access-log entries read of each
# row: all 1,000 rows are loaded to be sorted and paged, and the other columns of the link,
# the user and the profile were 8 timestamps a row to parse and 26 more fields to set: the
# first page's Python CPU went from 155 to 117 ms without them (benchmark 7's data).
# A column left out here and read by the list would cost a query per row: the query-count
# test of the list of 500 clients would fail.
LIST_FIELDS = (
    "member",
    "therapist_id",
    "share_adherence",
    "share_checkins",
    "share_notes",
    "member__email",
    "member__display_name",
    "member__date_joined",
    "member__profile__timezone",
)


_ID_PLACEHOLDER = "client-id-placeholder"


class _IdPlaceholder:
    """Stands for a row in ChangeList.url_for_result, which reads its primary key."""

    pk = id = _ID_PLACEHOLDER


class ClientChangeList(ChangeList):
    """Reads the filtered, searched, sorted rows in one query and pages them in Python:
    a therapist's clients fit in memory (list_max_show_all), and Django's paginator would
    add a COUNT (a tenth statement; an eleventh with the attention filter). The rows of
    the other pages cost ~25 ms of Python for 1,000 clients (LIST_FIELDS keeps it so)."""

    def get_results(self, request: HttpRequest) -> None:
        rows = list(self.queryset.only(*LIST_FIELDS))
        paginator = self.model_admin.get_paginator(request, rows, self.list_per_page)
        self.result_count = len(rows)
        self.full_result_count = None
        self.show_full_result_count = False
        self.show_admin_actions = True
        self.can_show_all = self.result_count <= self.list_max_show_all
        self.multi_page = self.result_count > self.list_per_page
        if (self.show_all and self.can_show_all) or not self.multi_page:
            self.result_list = rows
        else:
            try:
                self.result_list = paginator.page(self.page_num).object_list
            except InvalidPage:
                raise IncorrectLookupParameters from None
        self.paginator = paginator
        overviews = _overviews(request, links=list(self.result_list))
        for link in self.result_list:
            link.overview = overviews[link.pk]

    def url_for_result(self, result: Client) -> str:
        # One reverse() a request, not one a row: 1,000 rows of `?all=` spent 22 ms of CPU in
        # it. The pattern takes any path segment as the id, and the id is an integer.
        if not hasattr(self, "_change_url"):
            self._change_url = super().url_for_result(_IdPlaceholder())
        return self._change_url.replace(_ID_PLACEHOLDER, str(result.pk), 1)


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    # Needs attention comes second: it is why the therapist opens the list.
    list_display = (
        "name",
        "attention",
        "last_activity",
        "adherence_7d",
        "adherence_30d",
        "habit_score",
        "stress_trend",
        "pain_level",
        "persistent_pain",
    )
    list_display_links = ("name",)
    list_filter = (AttentionFilter,)
    search_fields = ("member__display_name", "member__email")
    list_per_page = 100
    list_max_show_all = 1000
    # The paginator's count already reruns the aggregate; a second, unfiltered one is waste.
    show_full_result_count = False
    # Counts per filter choice would each rerun the aggregate: offered nowhere.
    show_facets = admin.ShowFacets.NEVER
    actions = None

    # --- Who sees what ---------------------------------------------------------------------
    def get_queryset(self, request: HttpRequest) -> QuerySet[Client]:
        return _clients(request)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # Only the attention filter's own parameter. Django would otherwise accept any
        # lookup starting with an annotation name (`?latest_pain__gte=7`) and
        # filter by data the client does not share, or by other tables altogether.
        return lookup == AttentionFilter.parameter_name

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return ClientChangeList

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        return [F("adherence_7d").asc(nulls_last=True), "member__display_name", "member__email"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request_is_from_therapist(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_is_from_therapist(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # --- Columns (figures computed for all clients at once, see _overviews) ---------------
    @admin.display(description="client", ordering="member__display_name")
    def name(self, link: Client) -> str:
        return link.member.display_name or link.member.email

    @admin.display(description="last activity")
    def last_activity(self, link: Client) -> str:
        # Relative: the therapist and each client may live in different time zones.
        moment = link.overview.last_activity_at
        return "never" if moment is None else f"{timesince(moment, depth=1)} ago"

    @admin.display(description="7-day adherence", ordering="adherence_7d")
    def adherence_7d(self, link: Client) -> str:
        return _percent(link.overview, link.overview.adherence_7d, link.overview.expected_7d)

    @admin.display(description="30-day adherence", ordering="adherence_30d")
    def adherence_30d(self, link: Client) -> str:
        return _percent(link.overview, link.overview.adherence_30d, link.overview.expected_30d)

    @admin.display(description="habit score")
    def habit_score(self, link: Client) -> str:
        overview = link.overview
        return _percent(overview, overview.habit_score, overview.expected_30d)

    @admin.display(description="stress")
    def stress_trend(self, link: Client) -> str:
        overview = link.overview
        if not overview.shares_checkins:
            return "not shared"
        if overview.stress is None or overview.stress.trend == "unknown":
            return "-"
        return f"{TREND_ARROWS[overview.stress.trend]} {overview.stress.trend}"

    @admin.display(description="pain")
    def pain_level(self, link: Client) -> str:
        overview = link.overview
        if not overview.shares_checkins:
            return "not shared"
        if overview.latest_pain is None:
            return "-"
        known = overview.pain is not None and overview.pain.trend != "unknown"
        arrow = TREND_ARROWS[overview.pain.trend] if known else ""
        return f"{overview.latest_pain}/10 {arrow}".strip()

    @admin.display(description="persistent", boolean=True)
    def persistent_pain(self, link: Client) -> bool | None:
        overview = link.overview
        return overview.persistent_pain if overview.shares_checkins else None

    @admin.display(description="needs attention")
    def attention(self, link: Client) -> str:
        return "; ".join(reason.words for reason in link.overview.reasons) or "-"

    # --- The list: logged as a read of every client it shows -------------------------------
    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            access_log_record_list(
                therapist=request.user, links=list(changelist.result_list), what="clients list"
            )
        return response

    # --- CSV of the list as filtered -------------------------------------------------------
    def get_urls(self) -> list:
        export = self.admin_site.admin_view(self.export_csv)
        return [path("export.csv", export, name="progress_client_export"), *super().get_urls()]

    def export_csv(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise Http404
        changelist = self.get_changelist_instance(request)
        links = list(changelist.get_queryset(request))
        # Every row, not the cached page of the list (which holds list_per_page of them).
        overviews = {
            overview.link.pk: overview
            for overview in client_overviews(
                therapist=request.user, now=timezone.now(), links=links
            )
        }
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="clients.csv"'
        response["Cache-Control"] = "no-store"
        writer = csv.writer(response)
        writer.writerow(client_page.CSV_HEADER)
        for link in links:
            writer.writerow(client_page.csv_row(overviews[link.pk]))
        access_log_record_list(therapist=request.user, links=links, what="clients list (CSV)")
        return response

    # --- The client page ------------------------------------------------------------------
    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        link = self.get_queryset(request).filter(pk=_id_or_404(object_id)).first()
        if link is None or not self.has_view_permission(request):
            raise Http404("No such client.")
        if request.method == "POST":
            return self._client_page_post(request, link)
        categories = shared_categories(link)
        if not link.share_checkins:  # notes are shown only beside shared check-ins
            categories = [c for c in categories if c != AccessCategory.NOTES]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": link.member.display_name or link.member.email,
            "subtitle": "Client",
            **client_page.context(
                link=link, therapist=request.user, overview=_overviews(request, [link])[link.pk]
            ),
        }
        access_log_record(link=link, categories=categories, what="client page")
        return TemplateResponse(request, "admin/progress/client/detail.html", context)

    def _client_page_post(self, request: HttpRequest, link: Client) -> HttpResponse:
        here = reverse("admin:progress_client_change", args=[link.pk])
        if "note" in request.POST:
            try:
                therapist_note_add(link=link, text=request.POST.get("note", ""))
                self.message_user(request, "Note saved.", messages.SUCCESS)
            except ValidationError as error:
                for message in error.message_dict.get("text", error.messages):
                    self.message_user(request, message, messages.ERROR)
        elif "retire" in request.POST:
            stretch = (
                prescriptions_of_therapist(therapist=request.user)
                .filter(member_id=link.member_id, retired_at__isnull=True)
                .filter(pk=_id_or_404(request.POST["retire"]))
                .first()
            )
            if stretch is None:
                raise Http404("No such stretch.")
            prescribed_stretch_retire(stretch=stretch)
            self.message_user(request, f"{stretch.name} retired.", messages.SUCCESS)
        return HttpResponseRedirect(here)


def _percent(overview: ClientOverview, value: float, expected: int) -> str:
    if not overview.shares_adherence:
        return "not shared"
    return f"{value:.0%}" if expected else "no nudges"


def _id_or_404(value: str) -> int:
    # isascii: "²" and "٣" are digits to str.isdigit() but not to int().
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise Http404("No such client.")
    return int(value)
