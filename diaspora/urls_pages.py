"""Registry pages (included at /registry/; names are un-namespaced and start with "diaspora-")."""

from django.urls import path

from .views import admin_pages, directory, inbox, obligations, registry, requests

urlpatterns = [
    path("", registry.home, name="diaspora-home"),
    path("join/", registry.join, name="diaspora-join"),
    path("me/", registry.me, name="diaspora-me"),
    path("me/confirm/", registry.confirm, name="diaspora-me-confirm"),
    path("me/status/", registry.set_status, name="diaspora-me-status"),
    path("me/consents/<str:purpose>/<str:action>/", registry.consent, name="diaspora-consent"),
    path("me/engagements/<int:match_id>/<str:action>/", registry.engagement, name="diaspora-engagement"),
    # An offer answered from its message or the profile: GET asks once, POST answers.
    path("me/offers/<int:match_id>/<str:action>/", inbox.offer_answer, name="diaspora-offer-answer"),
    path("me/as-institution/", registry.me_as_institution, name="diaspora-me-preview"),
    path("messages/", inbox.inbox, name="diaspora-inbox"),
    path("messages/<int:message_id>/", inbox.message_detail, name="diaspora-message"),
    path("people/", directory.directory, name="diaspora-directory"),
    path("people/export.csv", directory.directory_export, name="diaspora-directory-export"),
    path("people/<int:person_id>/", directory.person_detail, name="diaspora-person"),
    path("requests/", requests.request_list, name="diaspora-requests"),
    path("requests/new/", requests.request_new, name="diaspora-request-new"),
    path("requests/<int:request_id>/", requests.request_detail, name="diaspora-request"),
    path("requests/<int:request_id>/edit/", requests.request_edit, name="diaspora-request-edit"),
    path("requests/<int:request_id>/experts/", requests.request_top, name="diaspora-request-top"),
    path("requests/<int:request_id>/offer/", requests.request_offer, name="diaspora-request-offer"),
    path(
        "requests/<int:request_id>/experts/<int:person_id>/offer/",
        requests.request_offer_expert,
        name="diaspora-request-offer-expert",
    ),
    path("requests/<int:request_id>/close/", requests.request_close_view, name="diaspora-request-close"),
    path(
        "requests/<int:request_id>/matches/<int:match_id>/<str:action>/",
        requests.match_action,
        name="diaspora-match-action",
    ),
    path("admin/", admin_pages.runs, name="diaspora-admin"),
    path("admin/runs/", admin_pages.run_start, name="diaspora-admin-run-start"),
    path("admin/runs/<int:run_id>/", admin_pages.run_detail, name="diaspora-admin-run"),
    path("admin/metrics/", admin_pages.metrics, name="diaspora-admin-metrics"),
    # Work obligations: administrators, participants, and employers (a signed link, no account).
    path("returns/", obligations.overview, name="diaspora-obligations"),
    path("returns/participants/", obligations.participants, name="diaspora-obligation-participants"),
    path("returns/participants/<int:participation_id>/", obligations.participant, name="diaspora-obligation"),
    path(
        "returns/participants/<int:participation_id>/episodes/",
        obligations.episode_add,
        name="diaspora-obligation-episode-add",
    ),
    path(
        "returns/participants/<int:participation_id>/pauses/",
        obligations.pause_add,
        name="diaspora-obligation-pause-add",
    ),
    path("returns/participants/<int:participation_id>/link/", obligations.link_choose, name="diaspora-obligation-link"),
    path("returns/episodes/<int:episode_id>/document/", obligations.document, name="diaspora-obligation-document"),
    path("returns/episodes/<int:episode_id>/review/", obligations.review, name="diaspora-obligation-review"),
    path(
        "returns/episodes/<int:episode_id>/employer/", obligations.employer_request, name="diaspora-obligation-employer"
    ),
    path("returns/pauses/<int:pause_id>/evidence/", obligations.evidence, name="diaspora-obligation-evidence"),
    path("returns/imports/", obligations.import_file, name="diaspora-obligation-import"),
    path("me/obligations/", obligations.mine, name="diaspora-my-obligations"),
    path("confirm/<str:token>/", obligations.employer_confirm, name="diaspora-employer-confirm"),
]
