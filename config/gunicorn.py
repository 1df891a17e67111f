"""gunicorn settings for the web service; each can be overridden from the environment."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers: the API is database-bound; two per core plus one is gunicorn's own advice.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
max_requests = 2000  # recycle workers now and then against slow leaks
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"


def post_worker_init(worker):
    # The matching index (seconds to build at 100,000 experts) is built in the background as a
    # worker starts, not by the first top-20 query it serves.
    from diaspora.services.matching import index_warm

    index_warm()
