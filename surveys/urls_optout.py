"""The one-click opt-out page, included at the site root: /o/<token>/."""

from django.urls import path

from .views.optout import optout

urlpatterns = [
    path("o/<str:token>/", optout, name="invitation-optout"),
]
