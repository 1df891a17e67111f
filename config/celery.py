import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("kelu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Task modules kept beside tasks.py, split by sub-domain, that workers must also load.
app.conf.imports = ("surveys.tasks_exports",)
