"""The registry API (included under /api/v1/registry/)."""

from django.urls import path

from . import api

urlpatterns = [
    path("people/", api.PersonListApi.as_view(), name="registry-person-list"),
    path("people/<int:pk>/", api.PersonDetailApi.as_view(), name="registry-person-detail"),
    path("people/<int:pk>/messages/", api.PersonMessageApi.as_view(), name="registry-person-message"),
    path("me/profile/", api.MyProfileApi.as_view(), name="registry-my-profile"),
    path("me/confirm/", api.MyConfirmApi.as_view(), name="registry-my-confirm"),
    path("me/status/", api.MyStatusApi.as_view(), name="registry-my-status"),
    path("me/consents/", api.MyConsentListApi.as_view(), name="registry-my-consents"),
    path("me/consents/<str:purpose>/", api.MyConsentDetailApi.as_view(), name="registry-my-consent"),
    path("me/matches/", api.MyMatchListApi.as_view(), name="registry-my-matches"),
    path("me/matches/<int:pk>/accept/", api.MyMatchAcceptApi.as_view(), name="registry-my-match-accept"),
    path("me/matches/<int:pk>/decline/", api.MyMatchDeclineApi.as_view(), name="registry-my-match-decline"),
    path("me/matches/<int:pk>/feedback/", api.MyMatchFeedbackApi.as_view(), name="registry-my-match-feedback"),
    path("me/messages/", api.MyMessageListApi.as_view(), name="registry-my-messages"),
    path("me/messages/<int:pk>/read/", api.MyMessageReadApi.as_view(), name="registry-my-message-read"),
    path("me/messages/<int:pk>/reply/", api.MyMessageReplyApi.as_view(), name="registry-my-message-reply"),
    path("requests/", api.RequestListApi.as_view(), name="registry-request-list"),
    path("requests/<int:pk>/", api.RequestDetailApi.as_view(), name="registry-request-detail"),
    path("requests/<int:pk>/close/", api.RequestCloseApi.as_view(), name="registry-request-close"),
    path("requests/<int:pk>/top/", api.RequestTopApi.as_view(), name="registry-request-top"),
    path("requests/<int:pk>/matches/", api.RequestMatchListApi.as_view(), name="registry-request-matches"),
    path(
        "requests/<int:pk>/offer-proposals/",
        api.RequestOfferProposalsApi.as_view(),
        name="registry-request-offer-proposals",
    ),
    path("requests/<int:pk>/offers/", api.RequestOfferApi.as_view(), name="registry-request-offer"),
    path(
        "requests/<int:pk>/offers/preview/", api.RequestOfferPreviewApi.as_view(), name="registry-request-offer-preview"
    ),
    path("matches/<int:pk>/offer/", api.MatchOfferApi.as_view(), name="registry-match-offer"),
    path("matches/<int:pk>/withdraw/", api.MatchWithdrawApi.as_view(), name="registry-match-withdraw"),
    path("matches/<int:pk>/activate/", api.MatchActivateApi.as_view(), name="registry-match-activate"),
    path("matches/<int:pk>/complete/", api.MatchCompleteApi.as_view(), name="registry-match-complete"),
    path("runs/", api.RunCreateApi.as_view(), name="registry-run-create"),
    path("runs/<int:pk>/", api.RunDetailApi.as_view(), name="registry-run-detail"),
    path("metrics/", api.MetricsApi.as_view(), name="registry-metrics"),
    path("obligations/indicators/", api.ObligationIndicatorsApi.as_view(), name="registry-obligation-indicators"),
    path("obligations/at-risk/", api.ObligationAtRiskApi.as_view(), name="registry-obligation-at-risk"),
    path("me/obligations/", api.MyObligationsApi.as_view(), name="registry-my-obligations"),
]
