# The one image behind web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=stressrelief.settings \
    STRESSRELIEF_VAR_DIR=/app/var

WORKDIR /app

# Runtime dependencies first, pinned by the same constraints file as `make`, so a code
# edit does not reinstall them. The code runs from /app; the project is not installed.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && python -m pip install -c constraints.txt -r /tmp/requirements.txt

COPY . .

# Static files are collected at build time (WhiteNoise serves them). DEBUG off needs a
# secret even to collect; this throwaway one exists only during this build step.
RUN DJANGO_DEBUG=false DJANGO_SECRET_KEY="build-only-$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    python manage.py collectstatic --noinput --verbosity 0

RUN useradd --system --uid 10001 --home-dir /app stressrelief \
 && mkdir -p /app/var && chown -R stressrelief /app/var
USER stressrelief

EXPOSE 8000
CMD ["gunicorn", "stressrelief.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
