from django.urls import include, path

from . import api

urlpatterns = [
    path("surveys/", api.SurveyListApi.as_view(), name="survey-list"),
    path("surveys/import/", api.ImportApi.as_view(), name="survey-import"),
    path("surveys/<slug:slug>/", api.SurveyDetailApi.as_view(), name="survey-detail"),
    path("surveys/<slug:slug>/versions/", api.VersionListApi.as_view(), name="version-list"),
    path("surveys/<slug:slug>/versions/<int:number>/", api.VersionDetailApi.as_view(), name="version-detail"),
    path("surveys/<slug:slug>/versions/<int:number>/publish/", api.VersionPublishApi.as_view(), name="version-publish"),
    path("surveys/<slug:slug>/responses/", api.ResponseListApi.as_view(), name="response-list"),
    path("surveys/<slug:slug>/responses/<uuid:instance_id>/", api.ResponseDetailApi.as_view(), name="response-detail"),
    path("", include("surveys.urls_admin")),
    path("", include("surveys.urls_invitations")),
]
