"""The project's S3 LogStore (jvm/) alone, in Spark's JVM against moto on loopback: a new
log entry is a conditional put, a version already there raises
``java.nio.file.FileAlreadyExistsException`` in every form S3A reports it, an overwrite
stays a plain write, and a put whose answer was lost is recognised as the writer's own."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from py4j.protocol import Py4JJavaError

from forecast_core.s3 import CONDITIONAL_LOGSTORE

from .conftest import REGION, S3Server
from .proxy import S3Proxy, s3_proxy

FILE_EXISTS = "java.nio.file.FileAlreadyExistsException"
VERSION_1 = "_delta_log/00000000000000000001.json"


@pytest.fixture(scope="module")
def jvm(spark):
    """Spark's JVM (the session's jars hold the LogStore)."""
    return spark._jvm


@pytest.fixture
def proxy(s3_server: S3Server) -> Iterator[S3Proxy]:
    """A recording proxy in front of moto."""
    with s3_proxy(s3_server.url) as running:
        yield running


def _logstore(spark, s3_server: S3Server, endpoint: str, **settings: str):
    """The LogStore and a Hadoop configuration of its own for ``endpoint``."""
    conf = spark._jvm.org.apache.hadoop.conf.Configuration(spark._jsc.hadoopConfiguration())
    for key, value in {
        "fs.s3a.endpoint": endpoint,
        "fs.s3a.path.style.access": "true",
        "fs.s3a.endpoint.region": REGION,
        "fs.s3a.access.key": s3_server.access_key,
        "fs.s3a.secret.key": s3_server.secret_key,
        "fs.s3a.impl.disable.cache": "true",  # a file system for this configuration
        "fs.s3a.fast.upload.buffer": "bytebuffer",
        **settings,
    }.items():
        conf.set(key, value)
    return _store_class(spark._jvm)(conf), conf


def _store_class(jvm):
    """The LogStore's class in ``jvm``, by the name the Spark settings give."""
    found = jvm
    for part in CONDITIONAL_LOGSTORE.split("."):
        found = getattr(found, part)
    return found


def _writer(spark, store, conf, table: str) -> Callable[..., None]:
    """``write(name, *lines, overwrite=False)`` of one file under ``table``."""

    def write(name: str, *lines: str, overwrite: bool = False) -> None:
        actions = spark._jvm.java.util.ArrayList()
        for line in lines:
            actions.add(line)
        path = spark._jvm.org.apache.hadoop.fs.Path(f"{table}/{name}")
        store.write(path, actions.iterator(), overwrite, conf)

    return write


def _java_class(error: Py4JJavaError) -> str:
    return error.java_exception.getClass().getName()


def _body(s3_server: S3Server, bucket: str, key: str) -> bytes:
    return s3_server.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def test_a_new_entry_is_a_conditional_put_and_a_taken_one_raises_file_exists(
    spark, s3_server, bucket, proxy
):
    store, conf = _logstore(spark, s3_server, proxy.url)
    write = _writer(spark, store, conf, f"s3a://{bucket}/t")
    write(VERSION_1, '{"commitInfo":{"writer":"first"}}')
    with pytest.raises(Py4JJavaError) as taken:
        write(VERSION_1, '{"commitInfo":{"writer":"second"}}')
    assert _java_class(taken.value) == FILE_EXISTS
    # S3A's form of the 412 is kept as the cause.
    cause = taken.value.java_exception.getCause().getClass().getName()
    assert cause == "org.apache.hadoop.fs.s3a.RemoteFileChangedException"
    assert _body(s3_server, bucket, f"t/{VERSION_1}") == b'{"commitInfo":{"writer":"first"}}\n'
    assert [(cond, status) for _, cond, status in proxy.log.puts()] == [("*", 200), ("*", 412)]
    head = s3_server.client("s3").head_object(Bucket=bucket, Key=f"t/{VERSION_1}")
    assert set(head["Metadata"]) == {"delta-writer-id"}  # names the writer that won


def test_an_overwrite_stays_a_plain_write(spark, s3_server, bucket, proxy):
    store, conf = _logstore(spark, s3_server, proxy.url)
    write = _writer(spark, store, conf, f"s3a://{bucket}/t")
    write("_delta_log/_last_checkpoint", '{"version":10}', overwrite=True)
    write("_delta_log/_last_checkpoint", '{"version":20}', overwrite=True)
    assert _body(s3_server, bucket, "t/_delta_log/_last_checkpoint") == b'{"version":20}\n'
    puts = proxy.log.puts(re.compile("_last_checkpoint$"))
    assert [(cond, status) for _, cond, status in puts] == [(None, 200), (None, 200)]


def test_a_lost_answer_to_its_own_put_is_a_commit_not_a_conflict(spark, s3_server, bucket):
    # The store applies the put, the answer never comes, S3A's client sends it again and
    # gets 412: the entry there carries this writer's id, so the commit stands (a
    # FileAlreadyExistsException here would make Delta commit the same data again).
    with s3_proxy(s3_server.url, lose_first_answer_to=VERSION_1) as lossy:
        store, conf = _logstore(spark, s3_server, lossy.url)
        write = _writer(spark, store, conf, f"s3a://{bucket}/t")
        write(VERSION_1, '{"commitInfo":{"writer":"only"}}')
        statuses = [status for _, _, status in lossy.log.puts()]
    assert statuses == [0, 412]  # applied with the answer lost, then refused as taken
    assert _body(s3_server, bucket, f"t/{VERSION_1}") == b'{"commitInfo":{"writer":"only"}}\n'


def test_without_s3a_conditional_create_no_entry_is_written(spark, s3_server, bucket):
    store, conf = _logstore(
        spark, s3_server, s3_server.url, **{"fs.s3a.create.conditional.enabled": "false"}
    )
    write = _writer(spark, store, conf, f"s3a://{bucket}/t")
    with pytest.raises(Py4JJavaError) as refused:
        write(VERSION_1, "{}")
    assert _java_class(refused.value) == "java.io.IOException"
    assert "no conditional create" in str(refused.value.java_exception.getMessage())
    listed = s3_server.client("s3").list_objects_v2(Bucket=bucket)
    assert listed.get("KeyCount", 0) == 0


def test_a_store_that_ignores_the_header_cannot_be_seen_from_the_logstore(spark, s3_server, bucket):
    # Why the jobs probe the store before writing (test_conditional_put_probe.py).
    with s3_proxy(s3_server.url, strip_conditional=True) as blind:
        store, conf = _logstore(spark, s3_server, blind.url)
        write = _writer(spark, store, conf, f"s3a://{bucket}/t")
        write(VERSION_1, "first")
        write(VERSION_1, "second")
    assert _body(s3_server, bucket, f"t/{VERSION_1}") == b"second\n"


def test_partial_writes_are_never_visible(spark, s3_server, bucket):
    store, conf = _logstore(spark, s3_server, s3_server.url)
    path = spark._jvm.org.apache.hadoop.fs.Path(f"s3a://{bucket}/t/{VERSION_1}")
    assert store.isPartialWriteVisible(path, conf) is False


def _s3_exception(jvm, status: int, code: str):
    details = jvm.software.amazon.awssdk.awscore.exception.AwsErrorDetails.builder()
    details = details.errorCode(code).errorMessage(code).build()
    builder = jvm.software.amazon.awssdk.services.s3.model.S3Exception.builder()
    return builder.statusCode(status).awsErrorDetails(details).message(code).build()


# Each builds a Java exception from Spark's JVM; True: it says the key is taken.
FORMS: dict[str, tuple[Callable, bool]] = {
    "S3A RemoteFileChangedException 412": (
        lambda jvm: jvm.org.apache.hadoop.fs.s3a.RemoteFileChangedException(
            "s3a://b/k", "PUT", "PreconditionFailed", _s3_exception(jvm, 412, "PreconditionFailed")
        ),
        True,
    ),
    "S3A AWSServiceIOException 412": (
        lambda jvm: jvm.org.apache.hadoop.fs.s3a.AWSServiceIOException(
            "PUT", _s3_exception(jvm, 412, "PreconditionFailed")
        ),
        True,
    ),
    "SDK S3Exception 412 deep in the cause chain": (
        lambda jvm: jvm.java.io.IOException(
            "upload failed",
            jvm.java.util.concurrent.CompletionException(
                _s3_exception(jvm, 412, "PreconditionFailed")
            ),
        ),
        True,
    ),
    "SDK S3Exception 409 ConditionalRequestConflict": (
        lambda jvm: jvm.java.io.IOException(
            "upload failed", _s3_exception(jvm, 409, "ConditionalRequestConflict")
        ),
        True,
    ),
    "S3A FileAlreadyExistsException": (
        lambda jvm: jvm.org.apache.hadoop.fs.FileAlreadyExistsException("s3a://b/k exists"),
        True,
    ),
    "S3A AWSServiceIOException 403": (
        lambda jvm: jvm.org.apache.hadoop.fs.s3a.AWSServiceIOException(
            "PUT", _s3_exception(jvm, 403, "AccessDenied")
        ),
        False,
    ),
    "SDK S3Exception 500": (
        lambda jvm: jvm.java.io.IOException("upload failed", _s3_exception(jvm, 500, "Internal")),
        False,
    ),
    "a network failure": (lambda jvm: jvm.java.net.SocketTimeoutException("timed out"), False),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_form_of_a_taken_key_is_recognised_and_nothing_else(jvm, form):
    build, taken = FORMS[form]
    assert _store_class(jvm).isTaken(build(jvm)) is taken
