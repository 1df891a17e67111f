"""Respondent pages (server-rendered)."""

urlpatterns: list = []
