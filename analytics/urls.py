"""Analytics pages (under /analytics/, namespace "analytics") and API (under /api/v1/analytics/)."""

from django.urls import include, path

from . import api, views
from .urls_official import api_patterns as official_api
from .urls_official import page_patterns as official_pages

app_name = "analytics"

urlpatterns = [
    path("", views.home, name="home"),
    path("waves/<slug:slug>/", views.wave_analysis, name="wave"),
    path("waves/<slug:slug>/recompute/", views.wave_recompute, name="wave-recompute"),
    path("official/", views.official, name="official"),
    path("official/data/", include(official_pages)),
    path("monitoring/<slug:pillar>/", views.monitoring_page, name="monitoring"),
]

api_urlpatterns = [
    path("waves/", api.WaveListApi.as_view(), name="analytics-api-waves"),
    path("waves/<slug:slug>/tables/", api.WaveTablesApi.as_view(), name="analytics-api-wave-tables"),
    path("waves/<slug:slug>/jobs/", api.WaveJobsApi.as_view(), name="analytics-api-wave-jobs"),
    path("jobs/<int:pk>/", api.JobDetailApi.as_view(), name="analytics-api-job"),
    path("monitoring/<slug:pillar>/", api.MonitoringApi.as_view(), name="analytics-api-monitoring"),
    path("official/", include(official_api)),
]
