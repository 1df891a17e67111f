"""Respondent pages (server-rendered): invitation links, public links and resume links."""

from django.urls import path

from .views import respondent

urlpatterns = [
    path("s/<slug:slug>/", respondent.public_start, name="respondent-start"),
]
for kind in ("i", "r"):
    urlpatterns += [
        path(f"{kind}/<str:token>/", respondent.page, {"kind": kind}, name=f"respondent-page-{kind}"),
        path(f"{kind}/<str:token>/save/", respondent.save, {"kind": kind}, name=f"respondent-save-{kind}"),
        path(f"{kind}/<str:token>/done/", respondent.done, {"kind": kind}, name=f"respondent-done-{kind}"),
    ]
