# syntax=docker/dockerfile:1
#
# Job image of the commodity forecast pipeline: `forecast daily` (CronJob) and
# `forecast backfill` (Indexed Job). Build: docker build -t commodity-forecast:0.1.0 .
#
# Size goal: at most 1.8 GB uncompressed (about 600 MB compressed). Budget, measured on the
# pinned wheels of docker/requirements.txt: Python packages about 1.4 GB (pyspark with its
# jars 511 MB, pyarrow 162 MB, scipy 143 MB, kubernetes 123 MB, pandas 75 MB, numpy 71 MB,
# statsmodels 61 MB), headless JRE 17 about 200 MB, python:3.11-slim about 125 MB, Delta
# jars a few MB. Kept out on purpose: the MLflow server and UI (mlflow-skinny instead of
# mlflow), the CUDA libraries (xgboost-cpu: no 469 MB nvidia-nccl-cu12), compilers, pip
# caches, tests and the build stages' tooling.
#
# Read-only root filesystem: everything the job writes goes under /scratch, which the pod
# mounts as an emptyDir volume (HOME, TMPDIR, SPARK_LOCAL_DIRS, FORECAST_HOME, the JVM's
# java.io.tmpdir). No secret is baked in: MLflow tokens and object-store credentials come
# from a Kubernetes Secret at run time.

# Bookworm, not the default trixie tag: trixie no longer ships openjdk-17.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Delta Lake jars must match the pinned Spark (pyspark 4.3.0, Scala 2.13). Caveat: delta-spark
# 4.4.1 officially supports PySpark <= 4.2 (its jars are built for Spark 4.0/4.1/4.2); no Delta
# release targets Spark 4.3 yet. We take the newest delta-spark_2.13 4.x and the `jars` stage
# below proves it with a write/read smoke test against the installed PySpark, so an
# incompatible pair fails the build, not a production run. Override with
# --build-arg DELTA_VERSION=... once Delta publishes a Spark 4.3 build; Delta 4.x also
# publishes one artifact per Spark line (e.g. DELTA_ARTIFACT=delta-spark_4.2_2.13) to try
# if the default artifact fails the smoke test.
ARG DELTA_VERSION=4.4.1
ARG DELTA_ARTIFACT=delta-spark_2.13

# ---------------------------------------------------------------------------------------
# base: Python + Java 17 runtime for Spark, the non-root user and the runtime environment.
FROM ${PYTHON_IMAGE} AS base

ARG DELTA_VERSION
ARG DELTA_ARTIFACT

# The man directory is missing in slim images and the JRE's postinst needs it. The JRE is not
# pinned to a Debian revision (DL3008): bookworm drops superseded security updates from its
# archive, so a pin would break rebuilds; the base image tag fixes the Debian release.
# hadolint ignore=DL3008
RUN mkdir -p /usr/share/man/man1 \
    && apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 forecast \
    && useradd --system --uid 10001 --gid 10001 --home-dir /scratch --no-create-home \
        --shell /usr/sbin/nologin forecast \
    && mkdir -p /scratch \
    && chown 10001:10001 /scratch

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOME=/scratch \
    TMPDIR=/scratch \
    SPARK_LOCAL_DIRS=/scratch/spark \
    FORECAST_HOME=/scratch/forecast \
    SPARK_CONF_DIR=/opt/forecast/spark-conf \
    FORECAST_SPARK_JARS=/opt/forecast/jars/io.delta_${DELTA_ARTIFACT}-${DELTA_VERSION}.jar,/opt/forecast/jars/io.delta_delta-storage-${DELTA_VERSION}.jar

# Spark's own defaults: the Delta jars' transitive dependencies go on the class path (a Java
# class path wildcard; FORECAST_SPARK_JARS names the two Delta jars the session adds), and the
# JVM's java.io.tmpdir moves to /scratch (snappy and zstd unpack native libraries there).
COPY docker/spark-defaults.conf /opt/forecast/spark-conf/spark-defaults.conf

# ---------------------------------------------------------------------------------------
# builder: a virtualenv with the pinned runtime requirements, then the project (no deps).
FROM base AS builder

RUN python -m venv /opt/venv
COPY docker/requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir --no-deps --requirement /tmp/requirements.txt \
    && pip check

WORKDIR /src
COPY pyproject.toml ./
COPY forecast_core ./forecast_core
COPY jobs ./jobs
# pip compiles bytecode while installing, which matters: the root filesystem is read-only
# at run time. The build backend (setuptools) is fetched in an isolated build environment.
RUN pip install --no-cache-dir --no-deps .

# ---------------------------------------------------------------------------------------
# jars: Delta Lake jars from Maven Central (build time only; pods never download), resolved
# with Spark's own resolver so transitive dependencies come too, then a smoke test.
FROM builder AS jars

ARG DELTA_VERSION
ARG DELTA_ARTIFACT
# A Maven mirror, if Maven Central is not reachable from the build machine.
ARG MAVEN_REPOSITORY=""
# 0 skips the Delta smoke test (only to build an image for a parquet-only deployment).
ARG DELTA_SMOKE_TEST=1

COPY docker/fetch_delta_jars.py /tmp/fetch_delta_jars.py
RUN python /tmp/fetch_delta_jars.py resolve \
        --package "io.delta:${DELTA_ARTIFACT}:${DELTA_VERSION}" \
        --repository "${MAVEN_REPOSITORY}" \
        --dest /opt/forecast/jars \
    && if [ "${DELTA_SMOKE_TEST}" = "1" ]; then python /tmp/fetch_delta_jars.py smoke-test; fi

# ---------------------------------------------------------------------------------------
# runtime: base + the virtualenv + the jars; nothing else from the build stages.
FROM base AS runtime

ARG DELTA_VERSION
LABEL org.opencontainers.image.title="commodity-forecast" \
      org.opencontainers.image.description="Daily and backfill jobs of the commodity price forecasting pipeline" \
      org.opencontainers.image.licenses="Apache-2.0" \
      io.delta.version="${DELTA_VERSION}"

COPY --from=builder /opt/venv /opt/venv
COPY --from=jars /opt/forecast/jars /opt/forecast/jars

# The bytecode was compiled by pip in the builder; nothing may be written next to it now.
ENV PYTHONDONTWRITEBYTECODE=1

USER 10001:10001
WORKDIR /scratch

# Fails the build if the console script or an import is broken (run as the job's user).
RUN forecast --help > /dev/null

ENTRYPOINT ["forecast"]
CMD ["--help"]
