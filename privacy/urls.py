"""The person's own data (included at /account/)."""

from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("data/", views.data_page, name="data"),
    path("data.json", views.data_download, name="data-download"),
    path("data/invitations/stop/", views.stop_invitations, name="stop-invitations"),
    path("data/erase/", views.erase_view, name="erase"),
]
