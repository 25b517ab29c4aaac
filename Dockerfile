# syntax=docker/dockerfile:1
# One image for every slice and for the consumers: TRADESIGNALS_SLICES picks the slice at run time,
# `python manage.py run_consumers` (compose's consumers service) runs the event consumers.

# The base is an argument so the image can be built from a locally made base where no registry is reachable
# (tests/deploy/test_image_build.py does); the default is the official image.
ARG BASE_IMAGE=python:3.11-slim

# --- build: production requirements only, into a venv copied whole into the runtime stage ---------------
FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
# Every pinned package ships a manylinux wheel for CPython 3.11: no compiler in any stage.
# Every package, transitive ones included, is pinned with its hashes: a tampered wheel fails the build.
RUN /opt/venv/bin/pip install --require-hashes --only-binary=:all: -r /tmp/requirements.txt

# --- runtime -------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=settings.prod \
    PORT=8000 \
    GUNICORN_DRAIN_SECONDS=5
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Code stays owned by root: the app user can read it, never change it.
COPY . .
# Static files (Swagger UI, console assets) are collected at build time with the base settings and no secret:
# Django refuses an empty SECRET_KEY once anything reads it (simplejwt's defaults do), so this one step gets a
# placeholder that production refuses ("build-only-" prefix) and that never reaches a layer's environment.
# Then byte-compile so a read-only root filesystem costs nothing at start-up.
RUN DJANGO_SETTINGS_MODULE=settings.base DJANGO_SECRET_KEY=build-only-collectstatic-placeholder-not-a-secret \
    python manage.py collectstatic --noinput --verbosity 0 \
 && python -m compileall -q /app /opt/venv \
 && install -d -o 10001 -g 10001 -m 0755 /srv/media
# /srv/media: uploaded images on the file system backend (MEDIA_ROOT in compose); a new named volume copies
# this ownership, so the app user can write there and nowhere else.
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "deploy/healthcheck.py", "/healthz"]
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "tradesignals.wsgi:application"]
