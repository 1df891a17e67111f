"""Administration API: panels and their imports, wave exports (included under /api/v1/)."""

from django.urls import path

from . import api_admin

urlpatterns = [
    path("panels/", api_admin.PanelListApi.as_view(), name="panel-list"),
    path("panels/<slug:slug>/imports/", api_admin.PanelImportApi.as_view(), name="panel-import"),
    path("waves/<slug:slug>/exports/", api_admin.WaveExportApi.as_view(), name="wave-export"),
    path("exports/<int:pk>/", api_admin.ExportDetailApi.as_view(), name="export-detail"),
    path("exports/<int:pk>/download/", api_admin.ExportDownloadApi.as_view(), name="export-download"),
]
