"""Analytics pages (under /analytics/, namespace "analytics") and API (under /api/v1/analytics/)."""

from django.urls import include, path

from . import api, api_research, views, views_research
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
    path("research/", views_research.research_home, name="research"),
    path("research/new/", views_research.research_new, name="research-new"),
    path("research/requests/<int:pk>/", views_research.research_request, name="research-request"),
    path("research/requests/<int:pk>/review/", views_research.research_review, name="research-review"),
    path("research/requests/<int:pk>/withdraw/", views_research.research_withdraw, name="research-withdraw"),
    path("research/requests/<int:pk>/renew/", views_research.research_renew, name="research-renew"),
    path("research/exports/<int:pk>/download/", views_research.research_download, name="research-download"),
    path("research/surveys/<slug:slug>/variables/", views_research.research_variables, name="research-variables"),
]

api_urlpatterns = [
    path("waves/", api.WaveListApi.as_view(), name="analytics-api-waves"),
    path("waves/<slug:slug>/tables/", api.WaveTablesApi.as_view(), name="analytics-api-wave-tables"),
    path("waves/<slug:slug>/jobs/", api.WaveJobsApi.as_view(), name="analytics-api-wave-jobs"),
    path("jobs/<int:pk>/", api.JobDetailApi.as_view(), name="analytics-api-job"),
    path("monitoring/<slug:pillar>/", api.MonitoringApi.as_view(), name="analytics-api-monitoring"),
    path("official/", include(official_api)),
    path("research/requests/", api_research.RequestListApi.as_view(), name="analytics-api-research-requests"),
    path("research/requests/<int:pk>/", api_research.RequestDetailApi.as_view(), name="analytics-api-research-request"),
    path(
        "research/requests/<int:pk>/review/",
        api_research.RequestReviewApi.as_view(),
        name="analytics-api-research-review",
    ),
    path(
        "research/exports/<int:pk>/download/",
        api_research.ExportDownloadApi.as_view(),
        name="analytics-api-research-download",
    ),
    path(
        "research/surveys/<slug:slug>/variables/",
        api_research.SurveyVariablesApi.as_view(),
        name="analytics-api-research-variables",
    ),
]
