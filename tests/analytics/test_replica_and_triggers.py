"""Frame reads go to the replica when one is configured; closed waves get their final figures."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import TestCase
from django.utils import timezone

from analytics.models import AggregationJob, WaveAnalysis
from analytics.services.aggregation import aggregation_closed_waves
from config import routers
from config.routers import AnalyticsReplicaRouter, analytics_reads, read_alias
from surveys.models import Response, Wave
from tests.analytics.waves import official_loaded, wave_with_answers


def test_reads_inside_analytics_reads_go_to_the_replica_only_when_one_is_configured(monkeypatch):
    router = AnalyticsReplicaRouter()
    assert read_alias() == "default"
    with analytics_reads():
        assert read_alias() == "default"  # no replica configured
    monkeypatch.setattr(routers, "replica_configured", lambda: True)  # DATABASE_REPLICA_URL set
    with analytics_reads():
        assert read_alias() == "replica"
        assert router.db_for_read(Response) == "replica"
    assert read_alias() == "default"
    assert router.db_for_read(Response) is None
    assert router.db_for_write(Response) == "default"
    assert router.allow_migrate("replica", "surveys") is False
    assert router.allow_migrate("default", "surveys") is True


@pytest.mark.django_db
@pytest.mark.usefixtures("tasks_in_process")
def test_a_wave_that_closed_gets_its_final_figures_once(graduate_version):
    official_loaded()
    wave = wave_with_answers(graduate_version, "closing", 12)
    Wave.objects.filter(pk=wave.pk).update(closes_at=timezone.now() - dt.timedelta(hours=1))
    with TestCase.captureOnCommitCallbacks(execute=True):
        first = aggregation_closed_waves()
    assert len(first) == 1
    assert AggregationJob.objects.get(pk=first[0]).status == AggregationJob.Status.COMPLETE
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert aggregation_closed_waves() == []


@pytest.mark.django_db
def test_a_plan_with_a_bad_margin_is_refused_with_a_clear_message(graduate_version):
    official_loaded()
    wave = wave_with_answers(graduate_version, "plan", 0)
    plan = WaveAnalysis.objects.get(wave=wave)
    plan.margins = [
        {"field": "country_residence", "scheme": "no-such-scheme", "indicator": "OE_5T8", "time_period": "2019"}
    ]
    with pytest.raises(ValidationError, match="no-such-scheme"):
        plan.full_clean()
    plan.margins = [
        {"field": "country_residence", "scheme": "destination-4", "indicator": "OE_5T8", "time_period": "1999"}
    ]
    with pytest.raises(ValidationError, match="1999"):
        plan.full_clean()
    plan.margins = [{"field": "no_such_field", "scheme": "destination-4", "indicator": "OE_5T8", "time_period": "2019"}]
    with pytest.raises(ValidationError, match="no_such_field"):
        plan.full_clean()
    plan.margins = "country"
    with pytest.raises(ValidationError):
        plan.full_clean()
    plan.weight_bounds = [5, 1]
    plan.margins = []
    with pytest.raises(ValidationError, match="bounds"):
        plan.full_clean()
    plan.weight_bounds = [0.1, 10]
    plan.margins = [{"field": "country_residence", "scheme": "destination-4", "indicator": "OE_5T8", "time_period": "2019",
                     "other": "OTHER"}]  # fmt: skip
    plan.full_clean()
