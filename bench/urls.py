from django.urls import include, path

from bench.baseline.views import insert_one_row

urlpatterns = [
    path("bench/baseline/", insert_one_row),
    path("", include("config.urls")),
]
