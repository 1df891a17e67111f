"""Who administers what: the one rule every app applies where it reads rows.

Every survey, wave, panel, export, expertise request and matching run belongs to one
programme, or to none (platform-wide). Administrators act on the objects of the
programmes they administer; platform-wide objects are managed by superusers only;
everyone else administers nothing. Selectors and admin querysets call
`in_programmes` with the lookup from their model to its programme, so the rule is
written once.
"""

from __future__ import annotations

from django.contrib.admin import RelatedOnlyFieldListFilter
from django.db.models import ForeignKey, ManyToManyField, Model, Q, QuerySet

from .models import Programme, Role, User


def is_programme_admin(user: User) -> bool:
    """Who may use administration screens and APIs at all."""
    return bool(user.is_authenticated and (user.is_superuser or user.role == Role.PROGRAMME_ADMIN))


def administered(user: User) -> QuerySet[Programme]:
    """The programmes this user administers (all of them for a superuser)."""
    if user.is_authenticated and user.is_superuser:
        return Programme.objects.all()
    if not is_programme_admin(user):
        return Programme.objects.none()
    return user.programmes.all()


def administered_ids(user: User) -> set[int]:
    """The ids of `administered(user)`, read once per user object."""
    cached = getattr(user, "_administered_programme_ids", None)
    if cached is None:
        cached = set(administered(user).values_list("pk", flat=True))
        if user.is_authenticated:
            user._administered_programme_ids = cached
    return cached


def administers(user: User, programme_id: int | None) -> bool:
    """Whether the user may act on an object of this programme (None: platform-wide)."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return programme_id is not None and is_programme_admin(user) and programme_id in administered_ids(user)


def programme_q(user: User, path: str = "programme") -> Q:
    """Rows whose programme (reached by `path`) the user administers, as a Q object.

    Superusers get every row; programme administrators the rows of their programmes
    (platform-wide rows, whose programme is empty, are not theirs); anyone else none.
    """
    if user.is_authenticated and user.is_superuser:
        return Q()
    if not is_programme_admin(user):
        return Q(pk__in=[])
    return Q(**{f"{path}__in": list(administered_ids(user))})


def in_programmes(queryset: QuerySet, user: User, path: str = "programme") -> QuerySet:
    """The rows of `queryset` the user administers (see `programme_q`)."""
    return queryset.filter(programme_q(user, path))


class ProgrammeScopedAdmin:
    """Django admin: lists, pages and every choice list limited to the user's programmes.

    `programme_path` is the lookup from the model to its programme. Foreign-key and
    many-to-many choice lists take the scope of the related model's own admin when it
    is scoped too (a wave's survey, version and panel; a request's programme), so one
    programme's objects are never offered on another programme's forms. For anyone but
    a superuser the model's own `programme` field is required: only superusers create
    platform-wide objects.
    """

    programme_path = "programme"
    # Who made a row is recorded, never chosen: a list of every account would name them all.
    author_fields = ("created_by", "requested_by")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return in_programmes(queryset, request.user, self.programme_path).distinct()

    def get_list_filter(self, request):
        # A filter on a related field lists only objects the scoped rows point at (Django's
        # plain filter would list every row of the related table, other programmes' too).
        filters = []
        for item in super().get_list_filter(request):
            field = self.model._meta.get_field(item) if isinstance(item, str) and "__" not in item else None
            related = isinstance(field, ForeignKey | ManyToManyField)
            filters.append((item, RelatedOnlyFieldListFilter) if related else item)
        return filters

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        authors = [f.name for f in self.model._meta.fields if f.name in self.author_fields and f.name not in fields]
        return fields + authors

    def save_model(self, request, obj, form, change):
        if not change and "created_by" in {f.name for f in self.model._meta.fields} and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def scoped_choices(self, user: User, model: type[Model], queryset: QuerySet | None = None) -> QuerySet | None:
        queryset = queryset if queryset is not None else model._default_manager.all()
        related_admin = self.admin_site._registry.get(model)
        if isinstance(related_admin, ProgrammeScopedAdmin):
            return in_programmes(queryset, user, related_admin.programme_path).distinct()
        return None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        scoped = self.scoped_choices(request.user, db_field.related_model, kwargs.get("queryset"))
        if scoped is not None:
            kwargs["queryset"] = scoped
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and db_field.name == "programme" and not request.user.is_superuser:
            field.required = True
            field.empty_label = None
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        scoped = self.scoped_choices(request.user, db_field.related_model, kwargs.get("queryset"))
        if scoped is not None:
            kwargs["queryset"] = scoped
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ScopedInline(ProgrammeScopedAdmin):
    """An inline whose parent is already scoped: its own choice lists are limited the same way."""

    def get_queryset(self, request):
        return super(ProgrammeScopedAdmin, self).get_queryset(request)


class SuperusersChange:
    """Admin pages whose rows everyone who may see them can read, and only superusers change."""

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request, *args):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
