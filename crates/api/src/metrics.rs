//! Prometheus metrics recorded on every request: counts and latency per
//! route template and status, kept in `prometheus-client` metric families.
//! `metrics_page` adds the gauges read at scrape time and encodes it all.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

/// Upper bounds (seconds) of the latency buckets.
const BUCKETS: [f64; 12] = sinergi_db::findings::RECOMPUTE_BUCKETS;

/// The labels of one request series: the route template, never the path,
/// so no identifier reaches a label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

/// A latency histogram over [`BUCKETS`] kept in atomics, so recording takes
/// no lock (`prometheus_client::metrics::histogram::Histogram` takes a mutex
/// on every observation).
#[derive(Debug, Default)]
struct LatencyHistogram {
    /// Observations per bucket, not cumulative; the last slot holds those
    /// above the largest bound.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    /// Sum of the observations in nanoseconds.
    nanos: AtomicU64,
}

impl LatencyHistogram {
    fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|le| seconds <= *le)
            .unwrap_or(BUCKETS.len());
        self.buckets[slot].fetch_add(1, Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(nanos, Relaxed);
    }

    fn values(&self) -> HistogramValues {
        let mut count = 0;
        let buckets = std::array::from_fn(|i| {
            let n = self.buckets[i].load(Relaxed);
            count += n;
            (BUCKETS[i], n)
        });
        count += self.buckets[BUCKETS.len()].load(Relaxed);
        HistogramValues {
            buckets,
            count,
            sum: self.nanos.load(Relaxed) as f64 / 1e9,
        }
    }
}

impl TypedMetric for LatencyHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for LatencyHistogram {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        self.values().encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// A histogram over [`BUCKETS`] as read at one moment, ready to encode.
#[derive(Debug)]
pub struct HistogramValues {
    /// Upper bound and observations per bucket, not cumulative.
    buckets: [(f64, u64); BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl HistogramValues {
    /// From counts kept elsewhere: cumulative per bucket, total, sum.
    pub fn from_cumulative(cumulative: [u64; BUCKETS.len()], count: u64, sum: f64) -> Self {
        // The counts are read one by one while recording goes on; keep the
        // buckets cumulative and the total no smaller than the last bucket.
        let mut below = 0;
        let buckets = std::array::from_fn(|i| {
            let n = cumulative[i].saturating_sub(below);
            below += n;
            (BUCKETS[i], n)
        });
        HistogramValues {
            buckets,
            count: count.max(below),
            sum,
        }
    }
}

impl EncodeMetric for HistogramValues {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        // The encoder adds the `+Inf` bucket from the count.
        encoder.encode_histogram::<NoLabelSet>(self.sum, self.count, &self.buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// In-process request metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Family<RequestLabels, Counter>,
    durations: Family<RequestLabels, LatencyHistogram>,
}

impl Metrics {
    /// Records one finished request.
    ///
    /// Once a (method, route, status) series exists, this takes no exclusive
    /// lock: `Family::get_or_create` in prometheus-client 0.26 first looks the
    /// label set up under the shared read lock of the family's map (a
    /// `parking_lot::RwLock`), and the counter and histogram are atomics
    /// updated while that read guard is held. Only a series' first request
    /// takes the write lock, to insert it. The lock is fair: while an insert
    /// waits (for instance for a scrape encoding the family under the read
    /// lock), other requests wait behind it. Inserts stop once each route,
    /// method and status in use has been seen.
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let labels = RequestLabels {
            method: method.to_owned(),
            route: route.to_owned(),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.durations.get_or_create(&labels).observe(elapsed);
    }

    /// Adds the request metrics to `registry` (shared, not copied).
    pub fn register(&self, registry: &mut Registry) {
        // The encoder appends `_total` to counters.
        registry.register(
            "sinergi_http_requests",
            "HTTP requests by route template and status",
            self.requests.clone(),
        );
        registry.register(
            "sinergi_http_request_duration_seconds",
            "Time to answer, by route template and status",
            self.durations.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::prometheus_text::encode;

    use super::*;

    fn exposition(register: impl FnOnce(&mut Registry)) -> String {
        let mut registry = Registry::default();
        register(&mut registry);
        let mut out = String::new();
        encode(&mut out, &registry).unwrap();
        out
    }

    #[test]
    fn requests_are_counted_in_cumulative_buckets() {
        let metrics = Metrics::default();
        metrics.observe("GET", "/a/{id}", 200, Duration::from_millis(2));
        metrics.observe("GET", "/a/{id}", 200, Duration::from_millis(200));
        metrics.observe("GET", "/a/{id}", 200, Duration::from_secs(9));
        let out = exposition(|r| metrics.register(r));
        let labels = r#"method="GET",route="/a/{id}",status="200""#;
        let expected = format!(
            "# HELP sinergi_http_requests_total HTTP requests by route template and status.\n\
             # TYPE sinergi_http_requests_total counter\n\
             sinergi_http_requests_total{{{labels}}} 3\n\
             # HELP sinergi_http_request_duration_seconds Time to answer, by route template and status.\n\
             # TYPE sinergi_http_request_duration_seconds histogram\n"
        );
        assert!(out.starts_with(&expected), "{out}");
        let buckets: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with("sinergi_http_request_duration_seconds_bucket"))
            .collect();
        let le = |bound: &str, n: u64| {
            format!("sinergi_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}")
        };
        assert_eq!(buckets.len(), BUCKETS.len() + 1);
        assert_eq!(buckets[0], le("0.001", 0));
        assert_eq!(buckets[1], le("0.0025", 1));
        assert_eq!(buckets[7], le("0.25", 2));
        assert_eq!(buckets[9], le("1", 2));
        assert_eq!(buckets[11], le("5", 2));
        assert_eq!(buckets[12], le("+Inf", 3));
        assert!(out.contains(&format!(
            "sinergi_http_request_duration_seconds_sum{{{labels}}} 9.202\n"
        )));
        assert!(out.ends_with(&format!(
            "sinergi_http_request_duration_seconds_count{{{labels}}} 3\n"
        )));
    }

    #[test]
    fn values_read_during_recording_stay_cumulative() {
        // Bucket 2 read before an observation reached it, the total before
        // any did.
        let mut cumulative = [5; 12];
        cumulative[2] = 4;
        let values = HistogramValues::from_cumulative(cumulative, 4, 0.5);
        let out = exposition(|r| r.register("x", "X", values));
        assert!(out.contains("x_bucket{le=\"0.005\"} 5\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"5\"} 5\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"+Inf\"} 5\nx_sum 0.5\nx_count 5\n"));
    }
}
