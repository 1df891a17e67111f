# The one image behind web, worker and beat in docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN DEBUG=0 python manage.py collectstatic --noinput \
    && useradd --system --home /app kelu \
    && mkdir -p /data && chown kelu /data

USER kelu
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--config", "config/gunicorn.py"]
