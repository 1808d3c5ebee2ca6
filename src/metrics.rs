//! Prometheus text for `/metrics`: request counts and latency by route, pool use, job states.
//! Kept in-process and small; routes are recorded by pattern so label sets stay bounded.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// (method, route, status) -> count
    requests: BTreeMap<(String, String, u16), u64>,
    /// (method, route) -> latency histogram
    latency: BTreeMap<(String, String), Histogram>,
}

#[derive(Default, Clone)]
struct Histogram {
    buckets: [u64; 12],
    count: u64,
    sum: f64,
}

impl Metrics {
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *inner
            .requests
            .entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
        let h = inner
            .latency
            .entry((method.to_string(), route.to_string()))
            .or_default();
        h.count += 1;
        h.sum += secs;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.buckets[i] += 1;
            }
        }
    }

    /// Render the request metrics plus the given gauges.
    pub fn render(&self, pool: PoolGauges, jobs: &[(String, i64)]) -> String {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str("# HELP roundtable_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE roundtable_http_requests_total counter\n");
        for ((method, route, status), n) in &inner.requests {
            let _ = writeln!(
                out,
                "roundtable_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        out.push_str("# HELP roundtable_http_request_duration_seconds Request latency by route.\n");
        out.push_str("# TYPE roundtable_http_request_duration_seconds histogram\n");
        for ((method, route), h) in &inner.latency {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "roundtable_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    h.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "roundtable_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "roundtable_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "roundtable_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        out.push_str("# HELP roundtable_db_pool_connections Database connections by state.\n");
        out.push_str("# TYPE roundtable_db_pool_connections gauge\n");
        let _ = writeln!(
            out,
            "roundtable_db_pool_connections{{state=\"in_use\"}} {}",
            pool.in_use
        );
        let _ = writeln!(
            out,
            "roundtable_db_pool_connections{{state=\"idle\"}} {}",
            pool.idle
        );
        let _ = writeln!(out, "roundtable_db_pool_max {}", pool.max);
        out.push_str("# HELP roundtable_jobs Jobs by state.\n");
        out.push_str("# TYPE roundtable_jobs gauge\n");
        for (state, n) in jobs {
            let _ = writeln!(out, "roundtable_jobs{{state=\"{state}\"}} {n}");
        }
        out
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct PoolGauges {
    pub in_use: usize,
    pub idle: usize,
    pub max: usize,
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.record("GET", "/api/v1/circles/{id}", 200, Duration::from_millis(3));
        m.record(
            "GET",
            "/api/v1/circles/{id}",
            200,
            Duration::from_millis(30),
        );
        let text = m.render(
            PoolGauges {
                in_use: 1,
                idle: 2,
                max: 8,
            },
            &[("dead".into(), 4)],
        );
        assert!(text.contains(
            "roundtable_http_requests_total{method=\"GET\",route=\"/api/v1/circles/{id}\",status=\"200\"} 2"
        ));
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"+Inf\"} 2"));
        assert!(text.contains("roundtable_db_pool_connections{state=\"idle\"} 2"));
        assert!(text.contains("roundtable_jobs{state=\"dead\"} 4"));
    }
}
