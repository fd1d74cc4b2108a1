"""Owner scoping for the admin: staff see and pick only their own objects, superusers see all."""

from __future__ import annotations

import datetime
import html
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import display_for_field, display_for_value, lookup_field
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import connections
from django.db.models import (
    BooleanField,
    CharField,
    DateField,
    ForeignKey,
    IntegerField,
    ManyToOneRel,
    Q,
    QuerySet,
    TextField,
    TimeField,
    Value,
)
from django.forms import ModelChoiceField
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.urls import NoReverseMatch
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import smart_split, unescape_string_literal


class OwnedAdmin(admin.ModelAdmin):
    owner_field = "owner"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{self.owner_field: request.user})

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Staff own what they create: the owner is not theirs to choose.
        fields = super().get_readonly_fields(request, obj)
        if request.user.is_superuser or "__" in self.owner_field or self.owner_field in fields:
            return fields
        return (*fields, self.owner_field)

    def formfield_for_foreignkey(self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any) -> Any:
        """A staff user's choices (and what a raw id may name) are their own objects only."""
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if request.user.is_superuser or not isinstance(field, ModelChoiceField) or field.queryset is None:
            return field
        field.queryset = scoped_choices(db_field.related_model, request, field.queryset)
        return field

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change and "__" not in self.owner_field and not getattr(obj, f"{self.owner_field}_id", None):
            setattr(obj, self.owner_field, request.user)
        super().save_model(request, obj, form, change)


def scoped_choices(model: Any, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
    """The objects of `model` a staff user may point at: themself, or what its own admin shows them."""
    if model is get_user_model():
        return queryset.filter(pk=request.user.pk)
    try:
        model_admin = admin.site.get_model_admin(model)
    except NotRegistered:
        return queryset
    if isinstance(model_admin, OwnedAdmin):
        return queryset.filter(pk__in=model_admin.get_queryset(request).values("pk"))
    return queryset


def owned_model_permissions() -> QuerySet[Permission]:
    """Every permission on the models whose admin is an OwnedAdmin: what a staff user needs to manage their own
    objects there, and nothing on users, groups or anyone else's records."""
    owned = [
        m
        for m in apps.get_models()
        if admin.site.is_registered(m) and isinstance(admin.site.get_model_admin(m), OwnedAdmin)
    ]
    types = ContentType.objects.get_for_models(*owned).values()
    return Permission.objects.filter(content_type__in=list(types))


class QuickRowsAdmin(admin.ModelAdmin):
    """A changelist whose rows are written by `quick_results`, cell for cell what Django's result_list tag
    writes: Django resolves each column, its link and its formatting again for every row, and a page of
    50 runs spent about 18 of its 60 ms there (docs/benchmarks.md). Editable lists keep Django's tag."""

    change_list_template = "admin/quick_change_list.html"

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None) or {}
        cl = context.get("cl")
        if cl is not None and not cl.formset:
            context["quick_result_list"] = quick_result_list(cl)
        return response


def quick_result_list(cl: ChangeList) -> dict[str, Any]:
    """What Django's result_list tag gives its template, with the rows from quick_results."""
    headers = list(admin_list.result_headers(cl))
    opts = cl.opts
    return {
        "template_names": [
            f"admin/{opts.app_label}/{opts.model_name}/change_list_results.html",
            f"admin/{opts.app_label}/change_list_results.html",
            "admin/change_list_results.html",
        ],
        "result_hidden_fields": [],
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": quick_results(cl),
    }


def quick_results(cl: ChangeList) -> list[admin_list.ResultList]:
    """Each row of a changelist without a formset as admin_list.items_for_result writes it; what depends
    on the column alone (its field, formatter, classes, link) is worked out once per page."""
    columns = []
    first = True
    for index, name in enumerate(cl.list_display):
        links = cl.list_display_links is not None and (
            (first and not cl.list_display_links) or name in cl.list_display_links
        )
        columns.append(_Column(cl, index, name, links, first))
        first = first and not links
    urls = _ChangeUrls(cl)
    return [
        admin_list.ResultList(None, [mark_safe("".join(column.cell(result, urls) for column in columns))])
        for result in cl.result_list
    ]


class _ChangeUrls:
    """Each row's change link: the first row's as Django makes it (reverse, quote, preserved filters), the
    others with their primary key put in its place when the key is an integer."""

    def __init__(self, cl: ChangeList) -> None:
        self.cl = cl
        self.around: tuple[str, str] | None = None

    def __call__(self, result: Any) -> str:
        pk = getattr(result, self.cl.pk_attname)
        if self.around is not None and type(pk) is int:
            return f"{self.around[0]}{pk}{self.around[1]}"
        url = add_preserved_filters(
            {"preserved_filters": self.cl.preserved_filters, "opts": self.cl.opts}, self.cl.url_for_result(result)
        )
        marker = f"/{pk}/change/"
        if type(pk) is int and url.count(marker) == 1:
            before, after = url.split(marker)
            self.around = (f"{before}/", f"/change/{after}")
        return url


def _escaped(text: Any) -> str:
    """conditional_escape's text without its lazy-argument check: a safe string as it is, else escaped."""
    return text.__html__() if hasattr(text, "__html__") else html.escape(str(text))


def _plain_field(cl: ChangeList, name: Any) -> Any:
    """The model field a column shows, when the admin takes it as one (its _get_non_gfk_field's rules):
    not a generic or reverse relation, nor a foreign key's column name."""
    if not isinstance(name, str):
        return None
    try:
        field = cl.lookup_opts.get_field(name)
    except FieldDoesNotExist:
        return None
    if field.is_relation and ((field.many_to_one and not field.related_model) or field.one_to_many):
        return None
    if field.is_relation and not field.many_to_many and getattr(field, "attname", None) == name:
        return None
    return field


class _Column:
    """One list_display column: admin_list.items_for_result's branches, decided once."""

    def __init__(self, cl: ChangeList, index: int, name: Any, link: bool, first: bool) -> None:
        self.cl, self.name, self.link = cl, name, link
        self.tag = "th" if link and first else "td"
        if callable(name):
            self.classes = f"field-{'lambda' + str(index) if name.__name__ == '<lambda>' else name.__name__}"
        else:
            self.classes = f"field-{name}"
        self.empty = cl.model_admin.get_empty_value_display()
        self.field = _plain_field(cl, name)
        self.attr: Any = None
        if self.field is None and (callable(name) or (hasattr(cl.model_admin, name) and name != "__str__")):
            self.attr = name if callable(name) else getattr(cl.model_admin, name)
        self.choices: dict[Any, Any] | None = None
        if self.field is not None and getattr(self.field, "flatchoices", None):
            try:
                self.choices = dict(self.field.flatchoices)
            except TypeError:  # list-like choices: Django's own path
                self.choices = None
        self.icons: dict[Any, str] = {}
        self.plain_ints = not settings.USE_THOUSAND_SEPARATOR

    def value(self, result: Any) -> tuple[Any, Any, Any]:
        if self.field is not None:
            return self.field, None, getattr(result, self.name)
        if self.attr is not None:
            return None, self.attr, self.attr(result)
        return lookup_field(self.name, result, self.cl.model_admin)

    def cell(self, result: Any, urls: _ChangeUrls) -> str:
        classes, empty = self.classes, self.empty
        try:
            field, attr, value = self.value(result)
        except ObjectDoesNotExist:
            text: Any = empty
        else:
            empty = getattr(attr, "empty_value_display", empty)
            if isinstance(value, str) and value.strip() == "":
                value = ""
            if field is None or field.auto_created:
                if self.name == "action_checkbox":
                    classes = "action-checkbox"
                boolean = getattr(attr, "boolean", False)
                if isinstance(attr, property) and hasattr(attr, "fget"):
                    boolean = getattr(attr.fget, "boolean", False)
                text = self.display_value(value, empty, boolean)
                if isinstance(value, datetime.date | datetime.time):
                    classes += " nowrap"
            else:
                if isinstance(field.remote_field, ManyToOneRel):
                    related = getattr(result, field.name)
                    text = empty if related is None else related
                else:
                    text = self.display_field(value, field, empty)
                if isinstance(field, DateField | TimeField | ForeignKey):
                    classes += " nowrap"
        if not self.link:
            return f'<td class="{classes}">{_escaped(text)}</td>'
        try:
            url = urls(result)
        except NoReverseMatch:
            inner = _escaped(text)
        else:
            opener = ""
            if self.cl.is_popup:
                key = str(self.cl.to_field) if self.cl.to_field else self.cl.lookup_opts.pk.attname
                opener = format_html(' data-popup-opener="{}"', result.serializable_value(key))
            inner = format_html('<a href="{}"{}>{}</a>', url, opener, text)
        return f'<{self.tag} class="{classes}">{inner}</{self.tag}>'

    def display_value(self, value: Any, empty: str, boolean: bool) -> Any:
        if boolean:
            return self.icon(value)
        if type(value) is int and self.plain_ints:
            return str(value)  # formats.number_format's answer for an int without grouping
        return display_for_value(value, empty, boolean)

    def display_field(self, value: Any, field: Any, empty: str) -> Any:
        if self.choices is not None:
            try:
                return self.choices.get(value, empty)
            except TypeError:  # an unhashable value: Django's own path
                pass
        elif isinstance(field, BooleanField):
            return self.icon(value)
        elif type(value) is int and self.plain_ints and isinstance(field, IntegerField):
            return str(value)
        elif type(value) is str and type(field) in (CharField, TextField):
            return value or empty  # display_for_field's answer for text, without its chain of type checks
        return display_for_field(value, field, empty, avoid_link=self.link)

    def icon(self, value: Any) -> str:
        """admin_list._boolean_icon's image, made once per value and page."""
        if value not in self.icons:
            name = {True: "yes", False: "no", None: "unknown"}[value]
            self.icons[value] = format_html('<img src="{}" alt="{}">', static(f"admin/img/icon-{name}.svg"), value)
        return self.icons[value]


SEARCH_IDS_MAX = 1000  # a term matching more related rows than this is searched through a join, as Django does


class RelatedSearchAdmin(admin.ModelAdmin):
    """Django's search, except that a term looked up across a foreign key (`run__task`, `=owner__username`) is
    first turned into the ids of the related rows it matches (one query for all terms and fields), so that
    every condition is on this model's own columns: PostgreSQL then answers a term from indexes (trigram,
    foreign key) instead of joining every row and filtering after (10,000 runs: 37 ms -> 0.1 ms a query).
    Search fields of any other shape (a lookup in the path, two relations deep) leave the search to Django.

    A search field may also name one of `search_expressions`, searched as if it were a column: several
    columns as one text, which one index holds, so that each term is one condition the index answers."""

    search_expressions: dict[str, Any] = {}

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        if search_term and self.search_expressions:
            queryset = queryset.alias(**self.search_expressions)
        expressions = set(self.search_expressions)
        specs = [_search_field(self.opts, str(f), expressions) for f in self.get_search_fields(request)]
        fields = [f for f in specs if f is not None]
        if not search_term or len(fields) != len(specs) or not any(f.relation for f in fields):
            return super().get_search_results(request, queryset, search_term)
        bits = []
        for bit in smart_split(search_term):
            if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
                bit = unescape_string_literal(bit)
            bits.append(bit)
        ids = _related_ids(bits, fields, queryset.db)
        terms: list[Any] = [
            Q.create([f.condition(bit, ids.get((i, j), [])) for j, f in enumerate(fields)], connector=Q.OR)
            for i, bit in enumerate(bits)
        ]
        return queryset.filter(Q.create(terms)), False


class _SearchField:
    def __init__(self, lookup: str, relation: Any = None, remote: str = "") -> None:
        self.lookup, self.relation, self.remote = lookup, relation, remote

    def related(self, bit: str) -> QuerySet[Any]:
        return self.relation.related_model._default_manager.filter(**{self.remote: bit})  # type: ignore[no-any-return]

    def condition(self, bit: str, ids: list[Any]) -> tuple[str, Any]:
        if self.relation is None:
            return self.lookup, bit
        if len(ids) > SEARCH_IDS_MAX:
            return f"{self.relation.name}__{self.remote}", bit
        return f"{self.relation.attname}__in", ids


def _related_ids(bits: list[str], fields: list[_SearchField], using: str) -> dict[tuple[int, int], list[Any]]:
    """The ids each term matches through each related search field, keyed (term, field), in one UNION ALL;
    more than SEARCH_IDS_MAX of one are not all read where the database takes a LIMIT in a UNION."""
    limited = connections[using].features.supports_slicing_ordering_in_compound
    parts = []
    for i, bit in enumerate(bits):
        for j, field in enumerate(fields):
            if field.relation is not None:
                part = field.related(bit).order_by().annotate(term=Value(i), field=Value(j))
                part = part.values_list("term", "field", "pk")
                parts.append(part[: SEARCH_IDS_MAX + 1] if limited else part)
    ids: dict[tuple[int, int], list[Any]] = {}
    for i, j, pk in parts[0].union(*parts[1:], all=True) if parts else ():
        ids.setdefault((i, j), []).append(pk)
    return ids


def _search_field(opts: Any, spec: str, expressions: set[str]) -> _SearchField | None:
    """A search field as a lookup on a column of this model, on one of its search expressions or on a column
    of a model it points at; None for other shapes."""
    lookup = {"^": "istartswith", "=": "iexact", "@": "search"}.get(spec[:1], "icontains")
    path = spec[1:].split("__") if spec[:1] in "^=@" and spec else spec.split("__")
    if len(path) == 1 and path[0] in expressions:
        return _SearchField(f"{path[0]}__{lookup}")
    try:
        first = opts.get_field(path[0])
        if len(path) == 1 and not first.is_relation:
            return _SearchField(f"{path[0]}__{lookup}")
        if len(path) == 2 and first.many_to_one and first.related_model is not None:
            last = first.related_model._meta.get_field(path[1])
            if not last.is_relation:
                return _SearchField("", first, f"{path[1]}__{lookup}")
    except FieldDoesNotExist:
        pass
    return None
