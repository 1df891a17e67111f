"""Staff screens (include at the site root under /staff/, namespace "staff")."""

from django.urls import path

from .views import fieldwork, preview, staff

app_name = "staff"

urlpatterns = [
    path("", staff.wave_list, name="waves"),
    path("waves/new/", fieldwork.wave_new, name="wave-new"),
    path("waves/<slug:slug>/", staff.wave_dashboard, name="wave-dashboard"),
    path("waves/<slug:slug>/responses/", staff.wave_responses, name="wave-responses"),
    path("waves/<slug:slug>/questions/", staff.wave_questions, name="wave-questions"),
    path("waves/<slug:slug>/responses/<int:pk>/", staff.wave_response, name="wave-response"),
    path("waves/<slug:slug>/questions/<str:name>/answers/", staff.wave_text_answers, name="wave-text-answers"),
    path("surveys/<slug:slug>/", staff.survey_versions, name="survey-versions"),
    path("surveys/<slug:slug>/versions/<int:number>/preview/", preview.version_preview, name="version-preview"),
    path(
        "surveys/<slug:slug>/versions/<int:number>/preview/check/",
        preview.version_preview_check,
        name="version-preview-check",
    ),
    path("waves/<slug:slug>/exports/", staff.wave_export, name="wave-export"),
    path("exports/<int:pk>/", staff.export_status, name="export"),
    path("waves/<slug:slug>/settings/", fieldwork.wave_settings, name="wave-settings"),
    path("waves/<slug:slug>/invitations/", fieldwork.wave_invitations, name="wave-invitations"),
    path("waves/<slug:slug>/invitations/send/", fieldwork.wave_invitations_send, name="wave-invitations-send"),
    path("waves/<slug:slug>/letters/<int:pk>/resend/", fieldwork.letter_resend, name="letter-resend"),
]
