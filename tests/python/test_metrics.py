"""The server's metrics (docs/behaviour.md, "Observability"): `GET /_carillon/metrics` parses with
prometheus_client's own parsers, and its counters are exactly the requests a boto3 client sent. Each test
starts its own server, so every count starts at zero."""
import collections
import socket
import time

from botocore.config import Config
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_prometheus

from conftest import _SESSION, SERVICE, new_account
from carillon_util import create_app_instance, fake_app_instance_arn, raises


def scrape(server):
    r = server.raw("GET", "/_carillon/metrics")
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("application/openmetrics-text"), r.header("Content-Type")
    text = r.body.decode("utf-8")
    families = {f.name: f for f in parse_openmetrics(text)}
    # The classic Prometheus text parser reads the same samples.
    def samples(parsed):
        return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in parsed for s in f.samples}
    assert samples(parse_prometheus(text)) == samples(families.values())
    return families


def requests_by_label(families):
    # A family without samples yet is left out by the parser.
    family = families.get("carillon_requests")
    return {
        (s.labels["operation"], s.labels["status"]): s.value
        for s in (family.samples if family else [])
        if s.name == "carillon_requests_total"
    }


def gauge(families, name):
    (sample,) = families[name].samples
    return sample.value


def test_counters_and_histograms_match_the_requests_sent(make_server):
    server = make_server()
    account = new_account()
    client = server.client(account)
    loose = server.client(account, validate=False)
    # Control-plane requests are not counted: these change nothing below.
    assert server.control("GET", "/_carillon/health")[0] == 200
    assert server.control("GET", "/_carillon/faults")[0] == 200
    assert requests_by_label(scrape(server)) == {}

    # The statuses boto3 received, as the server must count them.
    sent = collections.Counter()

    def note(operation, response):
        sent[(operation, str(response["ResponseMetadata"]["HTTPStatusCode"]))] += 1
        return response

    app = note("CreateAppInstance", client.create_app_instance(Name="one", ClientRequestToken="token-one"))["AppInstanceArn"]
    note("CreateAppInstance", client.create_app_instance(Name="two", ClientRequestToken="token-two"))
    for _ in range(3):
        note("ListAppInstances", client.list_app_instances())
    note("DescribeAppInstance", client.describe_app_instance(AppInstanceArn=app))
    with raises(client, "NotFoundException", 404):
        client.describe_app_instance(AppInstanceArn=fake_app_instance_arn(account))
    with raises(loose, "BadRequestException", 400):
        loose.create_app_instance(Name="", ClientRequestToken="t" * 8)
    # A path no operation answers: counted under operation "-".
    unknown = server.raw("GET", "/no-such-operation", account=account)
    scrape(server)  # scraping counts nothing either

    families = scrape(server)
    assert sent == {("CreateAppInstance", "201"): 2, ("ListAppInstances", "200"): 3, ("DescribeAppInstance", "200"): 1}
    expected = {**sent, ("DescribeAppInstance", "404"): 1, ("CreateAppInstance", "400"): 1, ("-", str(unknown.status)): 1}
    assert requests_by_label(families) == expected

    # One latency observation per request, in buckets that only grow up to +Inf.
    per_operation = {}
    for (operation, _), n in expected.items():
        per_operation[operation] = per_operation.get(operation, 0) + n
    latency = families["carillon_request_duration_seconds"]
    assert latency.type == "histogram"
    counts = {s.labels["operation"]: s.value for s in latency.samples if s.name.endswith("_count")}
    assert counts == per_operation
    for operation, n in per_operation.items():
        buckets = [(float(s.labels["le"]), s.value) for s in latency.samples
                   if s.name.endswith("_bucket") and s.labels["operation"] == operation]
        assert len(buckets) > 5 and buckets[-1] == (float("inf"), n), buckets
        assert [v for _, v in buckets] == sorted(v for _, v in buckets)
        total = [s.value for s in latency.samples if s.name.endswith("_sum") and s.labels["operation"] == operation]
        assert total and 0 < total[0] < 60


def test_injected_faults_and_open_connections_are_counted(make_server):
    server = make_server()
    account = new_account()
    status, _ = server.control("PUT", "/_carillon/faults", {"Rules": [
        {"Operation": "ListAppInstances", "Count": 2, "Error": "ServiceUnavailableException"}]})
    assert status == 200
    retrying = _SESSION.client(
        SERVICE, endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=account,
        aws_secret_access_key="x", config=Config(retries={"mode": "standard", "total_max_attempts": 3}),
    )
    retrying.list_app_instances()  # two injected 503s, then the real answer

    families = scrape(server)
    assert requests_by_label(families) == {("ListAppInstances", "503"): 2, ("ListAppInstances", "200"): 1}
    fired = {(s.labels["operation"], s.labels["action"]): s.value
             for s in families["carillon_faults_fired"].samples if s.name == "carillon_faults_fired_total"}
    assert fired == {("ListAppInstances", "error"): 2}

    # Connections held open are counted while they are open, and no longer once closed.
    def open_connections():
        # The scrape's own connection is one of them.
        return gauge(scrape(server), "carillon_open_connections") - 1

    def settles_at(n):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if open_connections() == n:
                return True
            time.sleep(0.05)
        return False

    retrying.close()
    assert settles_at(0)
    held = [socket.create_connection((server.host, server.port)) for _ in range(3)]
    try:
        assert settles_at(3)
    finally:
        for s in held:
            s.close()
    assert settles_at(0)


def test_metrics_are_refused_to_a_foreign_page(make_server):
    server = make_server()
    r = server.raw("GET", "/_carillon/metrics", headers={"Origin": "http://evil.example"})
    assert r.status == 403 and r.header("x-amzn-ErrorType") == "ForbiddenException"


def histogram(families, name):
    """(sum, count, {le: cumulative count}) of an unlabelled histogram."""
    samples = families[name].samples
    total = next(s.value for s in samples if s.name == f"{name}_sum")
    count = next(s.value for s in samples if s.name == f"{name}_count")
    buckets = {s.labels["le"]: s.value for s in samples if s.name == f"{name}_bucket"}
    return total, count, buckets


def test_store_commits_are_counted_with_their_batch_sizes_and_durations(make_server):
    server = make_server()
    client = server.client(new_account())
    before_sum, before_count, _ = histogram(scrape(server), "carillon_store_commit_batch_size")
    _, before_durations, _ = histogram(scrape(server), "carillon_store_commit_duration_seconds")
    # Each of these is one write transaction of the store (a read commits nothing).
    writes = 12
    for i in range(writes):
        create_app_instance(client, f"commits-{i}")
    client.list_app_instances()
    families = scrape(server)
    total, count, buckets = histogram(families, "carillon_store_commit_batch_size")
    # Sequential writes: each is its own commit, or grouped ones; either way every one is counted (a
    # background sweep may add its own).
    assert total - before_sum >= writes, (before_sum, total)
    assert 1 <= count - before_count <= total - before_sum
    assert buckets["+Inf"] == count
    _, durations, seconds = histogram(families, "carillon_store_commit_duration_seconds")
    assert durations == count and durations - before_durations >= 1
    assert seconds["+Inf"] == durations
