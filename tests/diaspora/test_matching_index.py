"""The process's top-20 index with background rebuilds, on committed rows (the rebuild reads on
its own connection): a query never waits for a rebuild, and a registry change shows at once."""

import threading

import pytest

from diaspora.models import Person
from diaspora.services import matching
from diaspora.services.registry import consent_withdraw
from tests.diaspora.people import expert, expertise_request, institution

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def background(settings):
    settings.MATCHING_INDEX_BACKGROUND = True
    settings.MATCHING_INDEX_REFRESH_SECONDS = 0  # every change asks for a rebuild at once
    matching.forget_expert_index()
    yield
    matching.forget_expert_index()


def hold_rebuilds(monkeypatch):
    """Background rebuilds wait until the test lets them go; a build in the query's own thread
    (there should be none once an index exists) fails the test."""
    release, started = threading.Event(), threading.Event()
    build = matching._build_snapshot
    query_thread = threading.get_ident()

    def held():
        if threading.get_ident() == query_thread:
            pytest.fail("a query rebuilt the index itself")
        started.set()
        assert release.wait(30)
        return build()

    monkeypatch.setattr(matching, "_build_snapshot", held)
    return release, started


def top_ids(request):
    return [c.person_id for c in matching.request_top(request=request).candidates]


def test_a_new_expert_is_ranked_at_once_while_the_index_rebuilds_in_the_background(background, monkeypatch):
    first = expert("erlan", skills=["hydrology"])
    inst, staff = institution()
    request = expertise_request(staff, inst)  # hydrology and GIS
    assert top_ids(request) == [first.pk]  # the process's first query builds the index
    built = matching._State.snapshot

    release, started = hold_rebuilds(monkeypatch)
    better = expert("aliya", skills=["hydrology", "gis"])
    assert top_ids(request) == [better.pk, first.pk]  # from the delta, before any rebuild
    assert started.wait(30) and matching._State.snapshot is built  # the rebuild is still held
    assert top_ids(request) == [better.pk, first.pk]

    release.set()
    matching._State.building.join(30)
    rebuilt = matching._State.snapshot
    assert rebuilt is not built and better.pk in rebuilt.index.person_ids.tolist()
    assert top_ids(request) == [better.pk, first.pk]  # listed once, not from both indexes


def test_a_withdrawn_consent_and_a_hidden_profile_leave_the_top_20_at_once(background, monkeypatch):
    leaving = expert("erlan")
    hiding = expert("aliya")
    staying = expert("timur", skills=["hydrology"])
    inst, staff = institution()
    request = expertise_request(staff, inst)
    assert set(top_ids(request)) == {leaving.pk, hiding.pk, staying.pk}

    release, _started = hold_rebuilds(monkeypatch)
    consent_withdraw(person=leaving, purpose="matching")
    Person.objects.filter(pk=hiding.pk).update(status=Person.Status.PAUSED)  # no service: a raw change
    assert top_ids(request) == [staying.pk]
    release.set()
