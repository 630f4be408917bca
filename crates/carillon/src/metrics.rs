//! The server's metrics (docs/behaviour.md, "Observability"), served by `GET /_carillon/metrics` in
//! the OpenMetrics text format through `prometheus-client`. Each server has its own registry, so
//! servers run in one process (tests) do not share counters.
//!
//! API requests are counted by operation and status, with their latency; control-plane requests
//! are left out, so that scraping and steering the server does not change what it reports. The
//! store reports its commits through the observer [`Metrics::commit_observer`] gives it: how many
//! write transactions each physical commit made durable, and how long the commit took.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Duration;

/// The Content-Type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The latency buckets, in seconds: from half a millisecond to ten seconds.
const LATENCY_BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The commit-duration buckets, in seconds: from a tenth of a millisecond (a commit that needs no
/// flush) to a second.
const COMMIT_BUCKETS: [f64; 12] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];

/// The batch-size buckets, in transactions: powers of two up to the SQLite group commit's largest group.
const BATCH_BUCKETS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The operation's name, `-` when the request resolved to none.
    operation: &'static str,
    /// The HTTP status code.
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FaultLabels {
    operation: &'static str,
    /// `error`, `latency` or `reset`.
    action: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The metrics of one server.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<OperationLabels, Histogram, fn() -> Histogram>,
    open_connections: Gauge,
    faults_fired: Family<FaultLabels, Counter>,
    commit_batch_size: Histogram,
    commit_duration: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("carillon");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("requests", "API requests answered, by operation and HTTP status", requests.clone());
        let latency = Family::<OperationLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register("request_duration_seconds", "Time to answer an API request, by operation", latency.clone());
        let open_connections = Gauge::default();
        registry.register("open_connections", "Client connections open now", open_connections.clone());
        let faults_fired = Family::<FaultLabels, Counter>::default();
        registry.register("faults_fired", "Injected faults that fired, by operation and action", faults_fired.clone());
        let commit_batch_size = Histogram::new(BATCH_BUCKETS);
        registry.register(
            "store_commit_batch_size",
            "Write transactions made durable by one physical commit of the store",
            commit_batch_size.clone(),
        );
        let commit_duration = Histogram::new(COMMIT_BUCKETS);
        registry.register("store_commit_duration_seconds", "Time the store's physical commits took", commit_duration.clone());
        Metrics { registry, requests, latency, open_connections, faults_fired, commit_batch_size, commit_duration }
    }
}

impl Metrics {
    /// Counts one answered API request.
    pub fn request(&self, operation: &'static str, status: u16, latency: Duration) {
        self.requests.get_or_create(&RequestLabels { operation, status }).inc();
        self.latency.get_or_create(&OperationLabels { operation }).observe(latency.as_secs_f64());
    }

    /// Counts one injected fault that fired on `operation`.
    pub fn fault_fired(&self, operation: &'static str, action: &'static str) {
        self.faults_fired.get_or_create(&FaultLabels { operation, action }).inc();
    }

    /// What the store tells of each physical commit: its batch of write transactions and its duration.
    pub fn commit_observer(&self) -> carillon_store::CommitObserver {
        let (batch_size, duration) = (self.commit_batch_size.clone(), self.commit_duration.clone());
        std::sync::Arc::new(move |transactions: usize, took: Duration| {
            batch_size.observe(transactions as f64);
            duration.observe(took.as_secs_f64());
        })
    }

    /// Counts a connection as open until the guard is dropped.
    pub fn connection(&self) -> OpenConnection {
        self.open_connections.inc();
        OpenConnection(self.open_connections.clone())
    }

    /// The exposition, in the OpenMetrics text format.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// An open connection, counted in the gauge while it lives.
pub struct OpenConnection(Gauge);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_connections_and_faults_are_counted_per_server() {
        let m = Metrics::default();
        m.request("CreateAppInstance", 200, Duration::from_millis(3));
        m.request("CreateAppInstance", 200, Duration::from_millis(30));
        m.request("DescribeAppInstance", 404, Duration::from_micros(200));
        m.fault_fired("CreateAppInstance", "error");
        let held = m.connection();
        let _other = m.connection();
        drop(held);
        let observe = m.commit_observer();
        observe(1, Duration::from_micros(50));
        observe(5, Duration::from_millis(2));
        let text = m.encode().unwrap();
        for line in [
            "# TYPE carillon_requests counter",
            "carillon_requests_total{operation=\"CreateAppInstance\",status=\"200\"} 2",
            "carillon_requests_total{operation=\"DescribeAppInstance\",status=\"404\"} 1",
            "# TYPE carillon_request_duration_seconds histogram",
            "carillon_request_duration_seconds_bucket{le=\"0.0005\",operation=\"DescribeAppInstance\"} 1",
            "carillon_request_duration_seconds_bucket{le=\"0.005\",operation=\"CreateAppInstance\"} 1",
            "carillon_request_duration_seconds_bucket{le=\"0.05\",operation=\"CreateAppInstance\"} 2",
            "carillon_request_duration_seconds_count{operation=\"CreateAppInstance\"} 2",
            "carillon_open_connections 1",
            "carillon_faults_fired_total{operation=\"CreateAppInstance\",action=\"error\"} 1",
            "# TYPE carillon_store_commit_batch_size histogram",
            "carillon_store_commit_batch_size_sum 6.0",
            "carillon_store_commit_batch_size_count 2",
            "carillon_store_commit_batch_size_bucket{le=\"1.0\"} 1",
            "carillon_store_commit_batch_size_bucket{le=\"4.0\"} 1",
            "carillon_store_commit_batch_size_bucket{le=\"8.0\"} 2",
            "# TYPE carillon_store_commit_duration_seconds histogram",
            "carillon_store_commit_duration_seconds_count 2",
            "carillon_store_commit_duration_seconds_bucket{le=\"0.0001\"} 1",
            "carillon_store_commit_duration_seconds_bucket{le=\"0.0025\"} 2",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
        // Another server's registry starts empty.
        assert!(!Metrics::default().encode().unwrap().contains("carillon_requests_total{"));
    }
}
