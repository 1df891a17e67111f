"""Every choice list of every admin form offers only the administrator's programme's objects."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory

from accounts.models import Programme, User
from diaspora.models import ExpertiseRequest, Institution, MatchRun
from surveys.models import ExportJob, Invitation, Panel, Respondent, Response, Survey, SurveyVersion, Wave
from tests.scoping_world import World, build_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_in_process")]


def programme_a_objects(world: World) -> dict[type, set[int]]:
    """What programme A owns, by model: none of it may be offered to B's administrator."""
    a = world.a
    return {
        Programme: {a.programme.pk},
        Survey: {a.survey.pk, a.draft_survey.pk},
        SurveyVersion: set(SurveyVersion.objects.filter(survey__programme=a.programme).values_list("pk", flat=True)),
        Wave: set(Wave.objects.filter(survey__programme=a.programme).values_list("pk", flat=True)),
        Panel: {a.panel.pk},
        Respondent: {a.extra["respondent"].pk},
        Response: {world.response.pk},
        Invitation: set(Invitation.objects.filter(wave__survey__programme=a.programme).values_list("pk", flat=True)),
        ExportJob: {a.export.pk},
        Institution: {a.institution.pk},
        ExpertiseRequest: {a.request.pk},
        MatchRun: {a.run.pk},
        # No form lists accounts: authors are recorded, not chosen.
        User: set(User.objects.exclude(pk=world.users["admin_b"].pk).values_list("pk", flat=True)),
    }


def _forms(model_admin, request, obj):
    """The admin's form for `obj` (None: the add form) and its inlines' forms, as the user gets them."""
    if obj is None and not model_admin.has_add_permission(request):
        return []
    if obj is not None and not model_admin.has_change_permission(request, obj):
        return []
    forms = [model_admin.get_form(request, obj)]
    for inline in model_admin.get_inline_instances(request, obj):
        forms.append(inline.get_formset(request, obj).form)
    return forms


def b_object(model, world: World):
    """An object of programme B of this model, when the admin lists one (its change form is checked too)."""
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/admin/")
    request.user = world.users["admin_b"]
    return model_admin.get_queryset(request).first()


def test_no_choice_list_offers_another_programmes_objects():
    world = build_world()
    hidden = programme_a_objects(world)
    request = RequestFactory().get("/admin/")
    request.user = world.users["admin_b"]
    offered_somewhere = []
    for model, model_admin in admin.site._registry.items():
        for obj in (None, b_object(model, world)):
            for form in _forms(model_admin, request, obj):
                for name, field in form.base_fields.items():
                    queryset = getattr(field, "queryset", None)
                    if queryset is None or queryset.model not in hidden:
                        continue
                    leaked = hidden[queryset.model] & set(queryset.values_list("pk", flat=True))
                    if leaked:
                        offered_somewhere.append(f"{model.__name__}.{name} offers {queryset.model.__name__} {leaked}")
    assert offered_somewhere == []


def test_the_wave_form_lists_only_the_administrators_surveys_versions_and_panels():
    world = build_world()
    client = Client()
    client.force_login(world.users["admin_b"])
    html = client.get("/admin/surveys/wave/add/").content.decode()
    assert str(world.b.survey.pk) in options(html, "survey") and str(world.b.panel.pk) in options(html, "panel")
    assert str(world.a.survey.pk) not in options(html, "survey")
    assert str(world.a.panel.pk) not in options(html, "panel")
    a_versions = {str(pk) for pk in world.a.survey.versions.values_list("pk", flat=True)}
    assert a_versions.isdisjoint(options(html, "version"))


def options(html: str, name: str) -> set[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None, f"no choice list {name!r}"
    return set(re.findall(r'<option value="([^"]*)"', select.group(1))) - {""}
