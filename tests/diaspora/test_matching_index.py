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
    release, started, builds = threading.Event(), threading.Event(), []
    build = matching._build_snapshot
    query_thread = threading.get_ident()

    def held():
        if threading.get_ident() == query_thread:
            pytest.fail("a query rebuilt the index itself")
        builds.append(threading.current_thread().name)
        started.set()
        assert release.wait(30)
        return build()

    monkeypatch.setattr(matching, "_build_snapshot", held)
    return release, started, builds


def settled():
    """Wait for a background rebuild started so far (the first query may start one: people
    created seconds before it count as changed)."""
    if matching._State.building is not None:
        matching._State.building.join(30)
    return matching._State.snapshot


def top_ids(request):
    return [c.person_id for c in matching.request_top(request=request).candidates]


def test_a_new_expert_is_ranked_at_once_while_the_index_rebuilds_in_the_background(background, monkeypatch):
    first = expert("erlan", skills=["hydrology"])
    inst, staff = institution()
    request = expertise_request(staff, inst)  # hydrology and GIS
    assert top_ids(request) == [first.pk]  # the process's first query builds the index
    built = settled()

    release, started, builds = hold_rebuilds(monkeypatch)
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
    settled()

    release, _started, _builds = hold_rebuilds(monkeypatch)
    consent_withdraw(person=leaving, purpose="matching")
    Person.objects.filter(pk=hiding.pk).update(status=Person.Status.PAUSED)  # no service: a raw change
    assert top_ids(request) == [staying.pk]
    release.set()


def test_a_changed_profile_is_ranked_from_its_new_row_only(background, monkeypatch):
    from diaspora.services.registry import index_changed

    first = expert("erlan", skills=["hydrology", "gis"])
    second = expert("aliya", skills=["hydrology"])
    inst, staff = institution()
    request = expertise_request(staff, inst)
    assert top_ids(request) == [first.pk, second.pk]
    settled()

    release, _started, _builds = hold_rebuilds(monkeypatch)
    # Erlan moves to law (the profile services mark him): the big index still has him as a
    # hydrologist with both skills; he stays matchable, so only the index can tell.
    Person.objects.filter(pk=first.pk).update(skills=["corporate-law"], bio="Corporate lawyer.", field_of_study="042")
    index_changed(first.pk)
    ranked = matching.request_top(request=request).candidates
    assert [c.person_id for c in ranked] == [second.pk, first.pk]  # listed once, from the new row
    assert next(c for c in ranked if c.person_id == first.pk).shared_skills == ()
    release.set()


def test_a_cascade_offers_the_place_to_someone_who_joined_since_the_index(background):
    from diaspora.models import Match
    from diaspora.services import lifecycle

    first = expert("erlan", skills=["hydrology"])
    inst, staff = institution()
    request = expertise_request(staff, inst)
    assert top_ids(request) == [first.pk]
    settled()
    newcomer = expert("aliya", skills=["hydrology", "gis"])
    assert lifecycle.request_cascade(request=request) == 1
    assert Match.objects.get(request=request).person_id == newcomer.pk


def test_people_hidden_when_their_stale_grace_runs_out_are_marked_for_the_index(settings):
    from datetime import timedelta

    from django.utils import timezone

    from diaspora.services.registry import people_warn_stale

    person = expert("erlan")
    long_ago = timezone.now() - timedelta(days=settings.REGISTRY_STALE_GRACE_DAYS + 400)
    Person.objects.filter(pk=person.pk).update(
        last_confirmed_at=long_ago, stale_warned_at=timezone.now() - timedelta(days=settings.REGISTRY_STALE_GRACE_DAYS + 1),
        matching_changed_at=long_ago,
    )  # fmt: skip
    before = timezone.now()
    assert people_warn_stale().hidden == 1
    person.refresh_from_db()
    assert person.matching_changed_at >= before


def test_a_process_builds_its_index_as_it_starts_and_a_first_query_waits_for_that_build(
    background, monkeypatch, settings
):
    import config.gunicorn

    settings.MATCHING_INDEX_REFRESH_SECONDS = 3600  # no refresh for the people just created

    first = expert("erlan")
    inst, staff = institution()
    request = expertise_request(staff, inst)
    release, started, builds = hold_rebuilds(monkeypatch)
    config.gunicorn.post_worker_init(worker=None)  # what gunicorn calls in a new worker
    assert started.wait(30) and matching._State.snapshot is None
    answered = []
    query = threading.Thread(target=lambda: answered.append(matching.request_top(request=request)))
    query.start()
    release.set()
    query.join(30)
    [top] = answered
    assert [c.person_id for c in top.candidates] == [first.pk]
    assert builds == ["matching-index"]  # the warm-up's build, no second one
