from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from analytics.urls import api_urlpatterns as analytics_api
from privacy.api import MyDataApi

from .api import TokenLoginApi, forbidden, health, not_found, server_error
from .csp import csp_report
from .landing import landing

urlpatterns = [
    path("", landing, name="home"),
    path("admin/", admin.site.urls),
    path("healthz", health, name="health"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # the split view serves Swagger UI's start-up script as a file: no inline script
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("csp-report/", csp_report, name="csp-report"),
    path("api/v1/auth/token/", TokenLoginApi.as_view(), name="token-login"),
    path("api/v1/me/data/", MyDataApi.as_view(), name="me-data"),
    path("api/v1/", include("surveys.urls")),
    path("api/v1/registry/", include("diaspora.urls_api")),
    path("api/v1/analytics/", include(analytics_api)),
    path("accounts/", include("accounts.urls")),
    path("account/", include("privacy.urls")),
    path("registry/", include("diaspora.urls_pages")),
    path("analytics/", include("analytics.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("staff/", include("surveys.urls_staff")),
    path("", include("surveys.urls_respondent")),
    path("", include("surveys.urls_optout")),
]

handler403 = forbidden
handler404 = not_found
handler500 = server_error

admin.site.site_header = "Kelu administration"
admin.site.site_title = "Kelu"
admin.site.index_title = "Surveys, registry and analytics"
