# Stand-in for mysql:8.4.6 (docker-compose.yml's zenml-db) where no registry image can be pulled:
# MariaDB 10.11 from Debian bookworm's packages, on the base image scripts/docker.sh builds.
# docker-compose.offline.yml uses it; docker/offline/build.sh builds it. It honours the official
# image's MYSQL_ROOT_PASSWORD, MYSQL_DATABASE, MYSQL_USER and MYSQL_PASSWORD on first start
# (docker/offline/mariadb-entrypoint.sh), keeps its data in /var/lib/mysql, and ships
# `mysqladmin` for the compose health check. ZenML 0.98 supports MySQL and MariaDB stores.
ARG BASE_IMAGE=local/debian-py311:bookworm
FROM ${BASE_IMAGE}
# Unpinned: bookworm's point releases replace package versions, which a pin would then fail on.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       mariadb-server \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/lib/mysql \
    && mkdir -p /var/lib/mysql /run/mysqld \
    && chown mysql:mysql /var/lib/mysql /run/mysqld
COPY docker/offline/mariadb-entrypoint.sh /usr/local/bin/mariadb-entrypoint.sh
EXPOSE 3306
ENTRYPOINT ["/usr/local/bin/mariadb-entrypoint.sh"]
CMD ["mariadbd"]
