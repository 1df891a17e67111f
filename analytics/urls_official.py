"""URL patterns of official statistics: `page_patterns` under /analytics/official/,
`api_patterns` under /api/v1/analytics/official/ (included by config/urls.py)."""

from django.urls import path

from . import api_official, views_official

page_patterns = [
    path("", views_official.official_imports, name="official-imports"),
    path("groups/", views_official.official_groups, name="official-groups"),
]

api_patterns = [
    path("imports/", api_official.ImportsApi.as_view(), name="official-api-imports"),
    path("observations/", api_official.ObservationsApi.as_view(), name="official-api-observations"),
    path("groups/", api_official.GroupSchemesApi.as_view(), name="official-api-group-schemes"),
    path("groups/<slug:slug>/", api_official.GroupSchemeApi.as_view(), name="official-api-group-scheme"),
]
