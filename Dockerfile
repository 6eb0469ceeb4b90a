# syntax=docker/dockerfile:1
# Every image of this repository, from the repository root (.dockerignore trims the context):
#   a connector, on Airbyte's Python connector base image (`docker run IMAGE spec|check|discover|read|write`):
#     docker build --build-arg CONNECTOR=source-coperniq -t coperniq-quickbooks/source-coperniq:0.2.0 .
#     (CONNECTOR: source-coperniq, destination-quickbooks, source-quickbooks, destination-coperniq,
#      source-quickbooks-desktop, destination-quickbooks-desktop)
#   the always-on QuickBooks Desktop bridge (put TLS in front; docs/quickbooks-desktop-bridge.md):
#     docker build --target bridge -t coperniq-quickbooks/quickbooks-desktop-bridge:0.2.0 .
# docs/packaging.md lists every build command; unit_tests/packaging checks this file against each connector's
# metadata.yaml (base image, repository, tag) and pyproject.toml (console scripts).
# BASE_IMAGE is connectorBuildOptions.baseImage of every connector's metadata.yaml; VERSION is pyproject.toml's
# version, which every image is tagged with (the tests keep them equal).
ARG BASE_IMAGE=docker.io/airbyte/python-connector-base:4.0.2@sha256:9fdb1888c4264cf6fee473649ecb593f56f58e5d0096a87ee0b231777e2e3e73
ARG VERSION=0.2.0

FROM ${BASE_IMAGE} AS builder
WORKDIR /airbyte/integration_code
COPY . ./
# The runtime wheel (the connectors, the bridge and what they share; no sandboxes, demo or benchmarks),
# installed with its dependencies into the image's Python, each at the version requirements.lock pins
# (`make lock` refreshes it from the environment the tests ran in).
RUN python tools/build_runtime_wheel.py --wheel-dir /tmp/wheels \
    && python -m pip install --no-cache-dir --constraint requirements.lock /tmp/wheels/*.whl

FROM ${BASE_IMAGE} AS runtime
WORKDIR /airbyte/integration_code
COPY --from=builder /usr/local /usr/local
# The docs travel with the image (/airbyte/integration_code/docs/), beside the code they describe.
COPY docs/ ./docs/
COPY mapping/README.md ./mapping/README.md

FROM runtime AS bridge
ARG VERSION
# One container the QuickBooks Web Connector polls: SQLite on the /data volume, or QBD_BRIDGE_DATABASE a
# PostgreSQL URL (postgresql://user:password@host/db; psycopg is installed) and no volume.
RUN mkdir /data && chown airbyte /data
LABEL io.airbyte.name="coperniq-quickbooks/quickbooks-desktop-bridge" \
      io.airbyte.version="${VERSION}"
USER airbyte
VOLUME ["/data"]
ENV QBD_BRIDGE_HOST=0.0.0.0 QBD_BRIDGE_PORT=8085 QBD_BRIDGE_DATABASE=sqlite:////data/bridge.db
EXPOSE 8085
ENTRYPOINT ["quickbooks-desktop-bridge"]

FROM runtime AS connector
ARG VERSION
ARG CONNECTOR
# Fails the build unless CONNECTOR names a console script of the wheel.
RUN test -n "${CONNECTOR}" && command -v "${CONNECTOR}"
LABEL io.airbyte.name="coperniq-quickbooks/${CONNECTOR}" \
      io.airbyte.version="${VERSION}"
# Airbyte runs connectors as the base image's unprivileged user.
USER airbyte
ENV AIRBYTE_ENTRYPOINT="${CONNECTOR}"
# exec: the connector is the container's main process and gets its signals.
ENTRYPOINT ["/bin/sh", "-c", "exec \"$AIRBYTE_ENTRYPOINT\" \"$@\"", "--"]
