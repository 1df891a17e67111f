"""Staff screens (include at the site root under /staff/, namespace "staff")."""

from django.urls import path

from .views import staff

app_name = "staff"

urlpatterns = [
    path("", staff.wave_list, name="waves"),
    path("waves/<slug:slug>/", staff.wave_dashboard, name="wave-dashboard"),
    path("waves/<slug:slug>/responses/", staff.wave_responses, name="wave-responses"),
    path("waves/<slug:slug>/questions/", staff.wave_questions, name="wave-questions"),
    path("waves/<slug:slug>/exports/", staff.wave_export, name="wave-export"),
    path("exports/<int:pk>/", staff.export_status, name="export"),
]
