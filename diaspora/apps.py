from django.apps import AppConfig


class DiasporaConfig(AppConfig):
    name = "diaspora"
    verbose_name = "Diaspora registry"
