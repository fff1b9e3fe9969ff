# Handlers used by the runtimes package tests.
import json
import logging
import threading

counter = 0
barrier = threading.Barrier(2, timeout=20)


def initializer(context):
    global counter
    counter += 1


def echo(event, context):
    return "echo:" + event.decode()


def count(event, context):
    return counter


def ret_bytes(event, context):
    return b"\x00\xff"


def ret_none(event, context):
    return None


def ret_list(event, context):
    return [1, "a"]


def fail(event, context):
    raise ValueError("boom")


def ctx(event, context):
    c = context
    return "|".join(str(v) for v in [
        c.request_id, c.credentials.access_key_id, c.credentials.access_key_secret,
        c.credentials.security_token, c.function.name, c.function.handler, c.function.memory,
        c.function.timeout, c.service.name, c.service.qualifier, c.service.version_id,
        c.region, c.account_id, c.retry_count, c.tracing.span_context,
        c.tracing.span_baggages.get("k"),
    ])


def log(event, context):
    print("printed " + event.decode())
    context.get_logger().info("logged " + event.decode())
    logging.warning("warned " + event.decode())
    return "ok"


def wait(event, context):
    # Both requests are in flight before either writes.
    barrier.wait()
    print("line " + event.decode())
    return "ok"


def http(environ, start_response):
    body = environ["wsgi.input"].read().decode()
    start_response("201 Created", [("Content-Type", "text/plain"), ("X-Reply", "yes"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
    return [" ".join([
        environ["REQUEST_METHOD"], environ["PATH_INFO"], environ["QUERY_STRING"],
        environ.get("HTTP_X_CUSTOM", ""), body, environ["fc.context"].request_id,
    ]).encode()]


def pre_stop(context):
    print("stopping " + context.request_id)
