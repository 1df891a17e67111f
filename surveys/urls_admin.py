"""Administration API: panels and their imports, wave exports, waves and their invitations (under /api/v1/)."""

from django.urls import path

from . import api_admin

urlpatterns = [
    path("panels/", api_admin.PanelListApi.as_view(), name="panel-list"),
    path("panels/<slug:slug>/imports/", api_admin.PanelImportApi.as_view(), name="panel-import"),
    path("waves/<slug:slug>/exports/", api_admin.WaveExportApi.as_view(), name="wave-export"),
    path("exports/<int:pk>/", api_admin.ExportDetailApi.as_view(), name="export-detail"),
    path("exports/<int:pk>/download/", api_admin.ExportDownloadApi.as_view(), name="export-download"),
    path("waves/", api_admin.WaveCreateApi.as_view(), name="wave-create"),
    path("waves/<slug:slug>/", api_admin.WaveDetailApi.as_view(), name="wave-detail"),
    path(
        "waves/<slug:slug>/invitations/send/", api_admin.WaveInvitationSendApi.as_view(), name="wave-invitations-send"
    ),
    path("invitation-sends/<int:pk>/", api_admin.InvitationSendDetailApi.as_view(), name="invitation-send-detail"),
]
