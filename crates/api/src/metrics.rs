//! Prometheus metrics: request counts and latency per route template and
//! status, database pool use, change-feed position, findings recompute time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds (seconds) of the latency buckets.
const BUCKETS: [f64; 12] = sinergi_db::findings::RECOMPUTE_BUCKETS;

/// A latency histogram.
#[derive(Debug, Default, Clone)]
pub struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    /// A histogram from counts kept elsewhere: cumulative per bucket, total, sum.
    pub fn from_parts(counts: [u64; BUCKETS.len()], count: u64, sum: f64) -> Histogram {
        Histogram { counts, count, sum }
    }

    /// Records one observation.
    pub fn observe(&mut self, seconds: f64) {
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }

    /// Writes the histogram in the Prometheus text format.
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, le) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {}",
                self.counts[i]
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {:.6}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// In-process request metrics.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, String, u16), Histogram>>,
}

impl Metrics {
    /// Records one finished request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut s = self.series.lock().unwrap_or_else(|p| p.into_inner());
        s.entry((method.to_string(), route.to_string(), status))
            .or_default()
            .observe(seconds);
    }

    /// The request part of the Prometheus text exposition.
    pub fn render(&self) -> String {
        let s = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str(
            "# HELP sinergi_http_requests_total HTTP requests by route template and status.\n",
        );
        out.push_str("# TYPE sinergi_http_requests_total counter\n");
        for ((m, r, st), h) in s.iter() {
            let _ = writeln!(
                out,
                "sinergi_http_requests_total{{method=\"{m}\",route=\"{r}\",status=\"{st}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP sinergi_http_request_duration_seconds Time to answer, by route template and status.\n");
        out.push_str("# TYPE sinergi_http_request_duration_seconds histogram\n");
        for ((m, r, st), h) in s.iter() {
            h.render(
                &mut out,
                "sinergi_http_request_duration_seconds",
                &format!("method=\"{m}\",route=\"{r}\",status=\"{st}\""),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut h = Histogram::default();
        h.observe(0.002);
        h.observe(0.2);
        let mut out = String::new();
        h.render(&mut out, "x", "a=\"b\"");
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.001\"} 0"));
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.0025\"} 1"));
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.25\"} 2"));
        assert!(out.contains("x_bucket{a=\"b\",le=\"+Inf\"} 2"));
        assert!(out.contains("x_count{a=\"b\"} 2"));
    }
}
