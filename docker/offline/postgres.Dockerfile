# Stand-in for postgres:17.6-bookworm (docker-compose.yml's mlflow-db) where no registry image
# can be pulled: PostgreSQL 15 from Debian bookworm's packages, on the base image
# scripts/docker.sh builds. docker-compose.offline.yml uses it; docker/offline/build.sh builds it.
# It honours the official image's POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB and PGDATA
# (default /var/lib/postgresql/data) on first start (docker/offline/postgres-entrypoint.sh), and
# ships `pg_isready` for the compose health check. MLflow 3.17 supports PostgreSQL 15.
ARG BASE_IMAGE=local/debian-py311:bookworm
FROM ${BASE_IMAGE}
# No cluster at install time: the entrypoint creates one in PGDATA, as the official image does.
# Unpinned: bookworm's point releases replace package versions, which a pin would then fail on.
# hadolint ignore=DL3008
RUN mkdir -p /etc/postgresql-common/createcluster.d \
    && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/no-main.conf \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
    && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
    && chown postgres:postgres /var/lib/postgresql/data /var/run/postgresql \
    && chmod 700 /var/lib/postgresql/data
COPY docker/offline/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
CMD ["postgres"]
