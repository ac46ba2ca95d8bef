//! Prometheus metrics: the small functions other modules call when something happens,
//! and the text `GET /metrics` serves.
//!
//! Owns: metric names, labels and histogram buckets (all here, so the names stay one
//! list). Built on the `metrics` facade: every function is a cheap no-op until the daemon
//! calls [`install`], so library code and unit tests may call them freely.
//! Gauges that mirror state (queue size and age, open sessions) are not pushed by anyone:
//! [`render`] reads them from their source of truth at scrape time.
//! Also keeps the last 24 hours of message counts per hour in memory ([`last_24h`], the
//! web UI's dashboard chart); they start from zero when the daemon starts.
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

const ACCEPTED: &str = "postern_messages_accepted_total";
const DELIVERED: &str = "postern_messages_delivered_total";
const DEFERRED: &str = "postern_messages_deferred_total";
const BOUNCED: &str = "postern_messages_bounced_total";
const LATENCY: &str = "postern_delivery_latency_seconds";
const QUEUE_MESSAGES: &str = "postern_queue_messages";
const QUEUE_HELD: &str = "postern_queue_held_messages";
const QUEUE_DEFERRED: &str = "postern_queue_deferred_messages";
const QUEUE_OLDEST: &str = "postern_queue_oldest_age_seconds";
const SESSIONS: &str = "postern_smtp_sessions";
const TLS_HANDSHAKES: &str = "postern_tls_handshakes_total";
const AUTH_FAILURES: &str = "postern_auth_failures_total";
const HTTP_REQUESTS: &str = "postern_http_requests_total";
const CLUSTER_REDIS_UP: &str = "postern_cluster_redis_up";

/// Delivery latency buckets (seconds from arrival to delivery): sub-second local
/// deliveries up to a day-long retry.
const LATENCY_BUCKETS: &[f64] = &[0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0];

/// The ways mail comes in (`Origin::via`), pre-registered so they show up as 0.
const VIAS: &[&str] = &["SMTP", "HTTP", "local"];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls are no-ops). Returns false when
/// another recorder was installed first, in which case `/metrics` serves nothing.
pub fn install() -> bool {
    HANDLE
        .get_or_init(|| {
            let built = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(LATENCY.into()), LATENCY_BUCKETS)
                .and_then(|b| b.install_recorder());
            match built {
                Ok(h) => {
                    describe();
                    Some(h)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .is_some()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(ACCEPTED, "Messages queued, by how they arrived (via = SMTP, HTTP, local).");
    describe_counter!(DELIVERED, "Recipients delivered, by transport.");
    describe_counter!(DEFERRED, "Delivery attempts that failed temporarily, by transport.");
    describe_counter!(BOUNCED, "Recipients that failed permanently, by transport.");
    describe_histogram!(LATENCY, metrics::Unit::Seconds, "Time from arrival to delivery, by transport.");
    describe_gauge!(QUEUE_MESSAGES, "Messages in the queue.");
    describe_gauge!(QUEUE_HELD, "Messages on hold.");
    describe_gauge!(QUEUE_DEFERRED, "Messages with at least one failed attempt.");
    describe_gauge!(QUEUE_OLDEST, "Age of the oldest queued message in seconds.");
    describe_gauge!(SESSIONS, "Open SMTP sessions.");
    describe_counter!(TLS_HANDSHAKES, "Inbound TLS handshakes, by listener kind and result.");
    describe_counter!(AUTH_FAILURES, "Failed SMTP AUTH attempts.");
    describe_counter!(HTTP_REQUESTS, "HTTP API requests, by route and status.");
    describe_gauge!(CLUSTER_REDIS_UP, "1 while the cluster's Redis answers, 0 while this node uses its own limits.");
    for via in VIAS {
        counter!(ACCEPTED, "via" => *via).increment(0);
    }
    counter!(AUTH_FAILURES).increment(0);
}

/// Recipients delivered since start (all transports): the delivery rate in the cluster
/// heartbeat.
static DELIVERED_COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn delivered_count() -> u64 {
    DELIVERED_COUNT.load(std::sync::atomic::Ordering::Relaxed)
}

/// Whether the cluster's Redis answers (only set when `[cluster] redis` is configured).
pub fn cluster_redis_up(up: bool) {
    gauge!(CLUSTER_REDIS_UP).set(if up { 1.0 } else { 0.0 });
}

/// Messages counted in one hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourCounts {
    /// Unix time of the start of the hour.
    pub start: u64,
    pub accepted: u64,
    pub delivered: u64,
    pub deferred: u64,
    pub bounced: u64,
}

#[derive(Clone, Copy)]
enum Event {
    Accepted,
    Delivered,
    Deferred,
    Bounced,
}

/// One bucket per hour of the day, each tagged with the hour it counts (older ones are stale).
static HOURS: std::sync::Mutex<[HourCounts; 24]> = std::sync::Mutex::new([HourCounts { start: 0, accepted: 0, delivered: 0, deferred: 0, bounced: 0 }; 24]);

fn now_hour() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) / 3600 * 3600
}

fn count(event: Event) {
    let hour = now_hour();
    let mut hours = HOURS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let b = &mut hours[(hour / 3600 % 24) as usize];
    if b.start != hour {
        *b = HourCounts { start: hour, ..HourCounts::default() };
    }
    match event {
        Event::Accepted => b.accepted += 1,
        Event::Delivered => b.delivered += 1,
        Event::Deferred => b.deferred += 1,
        Event::Bounced => b.bounced += 1,
    }
}

/// The last 24 hours, oldest first, the current hour last (hours without events count 0).
pub fn last_24h() -> Vec<HourCounts> {
    let hour = now_hour();
    let hours = HOURS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    (0..24u64)
        .rev()
        .map(|ago| hour - ago * 3600)
        .map(|start| {
            let b = hours[(start / 3600 % 24) as usize];
            if b.start == start { b } else { HourCounts { start, ..HourCounts::default() } }
        })
        .collect()
}

/// A message was durably queued (`via` is `Origin::via`).
pub fn accepted(via: &'static str) {
    counter!(ACCEPTED, "via" => via).increment(1);
    count(Event::Accepted);
}

/// A recipient was delivered by `transport`, `latency` after the message arrived.
pub fn delivered(transport: &'static str, latency: Duration) {
    counter!(DELIVERED, "transport" => transport).increment(1);
    DELIVERED_COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    count(Event::Delivered);
    histogram!(LATENCY, "transport" => transport).record(latency.as_secs_f64());
}

/// A delivery attempt failed temporarily; the recipient stays queued.
pub fn deferred(transport: &'static str) {
    counter!(DEFERRED, "transport" => transport).increment(1);
    count(Event::Deferred);
}

/// A recipient failed permanently (a bounce is generated).
pub fn bounced(transport: &'static str) {
    counter!(BOUNCED, "transport" => transport).increment(1);
    count(Event::Bounced);
}

/// An inbound TLS handshake finished on a listener of `kind` (smtp, submission, ...).
pub fn tls_handshake(kind: &'static str, ok: bool) {
    counter!(TLS_HANDSHAKES, "kind" => kind, "result" => if ok { "ok" } else { "failed" }).increment(1);
}

/// An SMTP AUTH attempt failed.
pub fn auth_failure() {
    counter!(AUTH_FAILURES).increment(1);
}

/// An HTTP API request was answered (`route` is the matched route pattern).
pub fn http_request(route: String, status: u16) {
    counter!(HTTP_REQUESTS, "route" => route, "status" => status.to_string()).increment(1);
}

/// Queue state read at scrape time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub messages: usize,
    pub held: usize,
    pub deferred: usize,
    pub oldest_age: Duration,
}

/// The Prometheus text exposition, after setting the state gauges; `None` when the
/// recorder is not installed.
pub fn render(queue: QueueStats, sessions: usize) -> Option<String> {
    let handle = HANDLE.get()?.as_ref()?;
    gauge!(QUEUE_MESSAGES).set(queue.messages as f64);
    gauge!(QUEUE_HELD).set(queue.held as f64);
    gauge!(QUEUE_DEFERRED).set(queue.deferred as f64);
    gauge!(QUEUE_OLDEST).set(queue.oldest_age.as_secs_f64());
    gauge!(SESSIONS).set(sessions as f64);
    Some(handle.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histogram_and_gauges() {
        assert!(install());
        assert!(install(), "a second install is a no-op");
        accepted("HTTP");
        delivered("smtp", Duration::from_millis(700));
        deferred("smtp");
        bounced("maildir");
        let now = *last_24h().last().unwrap();
        assert!(now.accepted >= 1 && now.delivered >= 1 && now.deferred >= 1 && now.bounced >= 1, "{now:?}");
        assert_eq!(last_24h().len(), 24);
        tls_handshake("smtp", true);
        auth_failure();
        let stats = QueueStats { messages: 3, held: 1, deferred: 2, oldest_age: Duration::from_secs(42) };
        let text = render(stats, 5).unwrap();
        for line in [
            "postern_messages_accepted_total{via=\"HTTP\"} 1",
            "postern_messages_accepted_total{via=\"SMTP\"} 0",
            "postern_messages_delivered_total{transport=\"smtp\"} 1",
            "postern_messages_deferred_total{transport=\"smtp\"} 1",
            "postern_messages_bounced_total{transport=\"maildir\"} 1",
            "postern_delivery_latency_seconds_bucket{transport=\"smtp\",le=\"0.5\"} 0",
            "postern_delivery_latency_seconds_bucket{transport=\"smtp\",le=\"1\"} 1",
            "postern_tls_handshakes_total{kind=\"smtp\",result=\"ok\"} 1",
            "postern_auth_failures_total 1",
            "postern_queue_messages 3",
            "postern_queue_held_messages 1",
            "postern_queue_oldest_age_seconds 42",
            "postern_smtp_sessions 5",
            "# TYPE postern_delivery_latency_seconds histogram",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
        }
    }
}
