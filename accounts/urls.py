"""Signing in and out of the web pages (the API uses tokens, see config/urls.py)."""

from django.contrib.auth import views as auth_views
from django.urls import path

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="registration/login.html", next_page="home"),
        name="login",
    ),
    # Django's LogoutView accepts POST only: a link or an image cannot sign anyone out.
    path("logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
]
