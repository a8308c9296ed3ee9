# syntax=docker/dockerfile:1
#
# Job image of the commodity forecast pipeline: `forecast daily` (CronJob) and
# `forecast backfill` (Indexed Job). Build: bash scripts/build_image.sh (it fills the
# wheelhouse and the jar folder this Dockerfile copies, then runs docker build or buildah).
#
# Size goal: at most 1.8 GB uncompressed (about 600 MB compressed); docs/operations.md "The container image"
# has the measured size and layers. Kept out on purpose: the MLflow server and UI
# (mlflow-skinny instead of mlflow), the CUDA libraries (xgboost-cpu: no 469 MB
# nvidia-nccl-cu12), compilers, pip caches, wheelhouse, the libraries' test suites and the
# build stages' tooling.
#
# Nothing is downloaded from a package index or Maven inside the build: scripts/build_image.sh
# fetches the pinned wheels (docker/requirements.txt, docker/build-requirements.txt) into
# .build/wheelhouse and the Delta and S3 jars (fetch_jars.py --with-s3, which also builds the
# project's S3 LogStore from jvm/ with javac) into .build/jars on the host, and the build
# copies them.
#
# Read-only root filesystem: everything the job writes goes under /scratch, which the pod
# mounts as an emptyDir volume (HOME, TMPDIR, SPARK_LOCAL_DIRS, FORECAST_HOME, the JVM's
# java.io.tmpdir). No secret is baked in: MLflow tokens and object-store credentials come
# from a Kubernetes Secret at run time.

# Bookworm, not the default trixie tag: trixie no longer ships openjdk-17. Any bookworm image
# with python3.11 and venv works: scripts/build_image.sh passes an mmdebstrap-built Debian
# base (Python at /usr/bin) where the official image (Python at /usr/local/bin) cannot be
# pulled.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Spark 4.2.0 + Delta Lake 4.4.0: Delta 4.4.0 is built against Spark 4.2.0 and delta-spark
# declares pyspark<=4.2.0, so docker/requirements.txt pins pyspark==4.2.0 (Scala 2.13). The
# jars stage proves the pair with a write/read smoke test, so a jar that does not load fails
# the build, not a production run.
ARG DELTA_VERSION=4.4.0

# ---------------------------------------------------------------------------------------
# base: Python + Java 17 runtime for Spark, the non-root user and the runtime environment.
FROM ${PYTHON_IMAGE} AS base

# The man directory is missing in slim images and the JRE's postinst needs it. The JRE is not
# pinned to a Debian revision (DL3008): bookworm drops superseded security updates from its
# archive, so a pin would break rebuilds; the base image tag fixes the Debian release.
# hadolint ignore=DL3008
RUN mkdir -p /usr/share/man/man1 \
    && apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
    && groupadd --system --gid 10001 forecast \
    && useradd --system --uid 10001 --gid 10001 --home-dir /scratch --no-create-home \
        --shell /usr/sbin/nologin forecast \
    && mkdir -p /scratch \
    && chown 10001:10001 /scratch

# FORECAST_SPARK_JARS names a folder: every *.jar in it goes on the Spark session.
# SPARK_LAUNCHER_OPTS: Spark's short-lived launcher JVM writes no /tmp/hsperfdata_* file
# (the root filesystem is read-only; spark-defaults.conf does the same for the driver).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOME=/scratch \
    TMPDIR=/scratch \
    SPARK_LOCAL_DIRS=/scratch/spark \
    FORECAST_HOME=/scratch/forecast \
    SPARK_CONF_DIR=/opt/forecast/spark-conf \
    FORECAST_SPARK_JARS=/opt/forecast/jars \
    SPARK_LAUNCHER_OPTS=-XX:-UsePerfData

# Spark's own defaults: the JVM's java.io.tmpdir moves to /scratch (snappy and zstd unpack
# native libraries there) and no JVM writes a performance-counter file to /tmp.
COPY docker/spark-defaults.conf /opt/forecast/spark-conf/spark-defaults.conf

# ---------------------------------------------------------------------------------------
# builder: a virtualenv with the pinned runtime requirements, then the project (no deps),
# all from the wheelhouse (--no-index: pip never reaches a package index here).
FROM base AS builder

RUN python -m venv /opt/venv
COPY docker/requirements.txt /tmp/requirements.txt
COPY .build/wheelhouse /tmp/wheelhouse
RUN pip install --no-cache-dir --no-index --find-links /tmp/wheelhouse --no-deps \
        --requirement /tmp/requirements.txt \
    && pip check

WORKDIR /src
COPY pyproject.toml ./
COPY forecast_core ./forecast_core
COPY jobs ./jobs
# pip compiles bytecode while installing, which matters: the root filesystem is read-only
# at run time. The build backend (setuptools, wheel; docker/build-requirements.txt) comes
# from the wheelhouse into pip's isolated build environment, not into the venv.
RUN pip install --no-cache-dir --no-index --find-links /tmp/wheelhouse --no-deps .
# The libraries' own test suites (pandas 40 MB, numpy, scipy, pyarrow, matplotlib,
# statsmodels, ...: 134 MB measured) are never imported by the jobs.
RUN find /opt/venv/lib/python3.11/site-packages -depth -type d -name tests -exec rm -rf {} +

# ---------------------------------------------------------------------------------------
# jars: the Delta Lake jars Spark lacks and the project's S3 LogStore (fetched and built on
# the host by scripts/fetch_jars.py --with-s3, the same folder scripts/install.sh fills), then
# a smoke test: start Spark the way the jobs do, write and read a Delta table, and load the
# LogStore the session names for s3a://. Pods never download jars.
FROM builder AS jars

COPY .build/jars /opt/forecast/jars
COPY docker/delta_smoke_test.py /opt/forecast/delta_smoke_test.py
RUN python /opt/forecast/delta_smoke_test.py

# ---------------------------------------------------------------------------------------
# runtime: base + the virtualenv + the tested jars; nothing else from the build stages.
FROM base AS runtime

ARG DELTA_VERSION
LABEL org.opencontainers.image.title="commodity-forecast" \
      org.opencontainers.image.description="Daily and backfill jobs of the commodity price forecasting pipeline" \
      org.opencontainers.image.licenses="Apache-2.0" \
      io.delta.version="${DELTA_VERSION}"

COPY --from=builder /opt/venv /opt/venv
COPY --from=jars /opt/forecast/jars /opt/forecast/jars
# The smoke test stays in the image: CI and operators can rerun it against the built image.
COPY --from=jars /opt/forecast/delta_smoke_test.py /opt/forecast/delta_smoke_test.py

# The bytecode was compiled by pip in the builder; nothing may be written next to it now.
ENV PYTHONDONTWRITEBYTECODE=1

USER 10001:10001
WORKDIR /scratch

# Fails the build if the console script or an import is broken (run as the job's user).
RUN forecast --help > /dev/null

ENTRYPOINT ["forecast"]
CMD ["--help"]
