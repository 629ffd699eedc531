//! Prometheus metrics: the families rbgpd exports, setters the core calls,
//! and a tiny HTTP/1.1 responder that serves `GET /metrics` in the
//! OpenMetrics text format (prometheus-client).
//!
//! Every name starts with `rbgpd_`. Per-peer series carry `peer` (the
//! address); per-family ones `family` ("ipv4-unicast", ...).

use crate::ctl::proto::PeerState;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PeerLabels {
    peer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PeerStateLabels {
    peer: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MessageLabels {
    peer: String,
    r#type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PeerFamilyLabels {
    peer: String,
    family: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FamilyLabels {
    family: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterLabels {
    cluster: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PrefixLabels {
    prefix: String,
}

/// One service address for [`Metrics::set_services`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceWidth {
    /// The host route, e.g. `10.11.192.248/32`.
    pub prefix: String,
    /// Paths that are candidates (the nodes announcing it).
    pub paths: u64,
    /// Paths in the ECMP group.
    pub ecmp_width: u64,
}

/// BGP message types, for the message counters' `type` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// OPEN.
    Open,
    /// UPDATE.
    Update,
    /// NOTIFICATION.
    Notification,
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH.
    RouteRefresh,
}

impl MessageType {
    fn label(self) -> &'static str {
        match self {
            MessageType::Open => "open",
            MessageType::Update => "update",
            MessageType::Notification => "notification",
            MessageType::Keepalive => "keepalive",
            MessageType::RouteRefresh => "route_refresh",
        }
    }
}

struct Inner {
    registry: Registry,
    peer_up: Family<PeerLabels, Gauge>,
    peer_state: Family<PeerStateLabels, Gauge>,
    peer_uptime: Family<PeerLabels, Gauge>,
    bfd_state: Family<PeerLabels, Gauge>,
    bfd_transitions: Family<PeerLabels, Counter>,
    messages_received: Family<MessageLabels, Counter>,
    messages_sent: Family<MessageLabels, Counter>,
    prefixes_received: Family<PeerFamilyLabels, Gauge>,
    prefixes_accepted: Family<PeerFamilyLabels, Gauge>,
    prefixes_advertised: Family<PeerFamilyLabels, Gauge>,
    rib_prefixes: Family<FamilyLabels, Gauge>,
    cluster_nodes: Family<ClusterLabels, Gauge>,
    prefix_ecmp_width: Family<PrefixLabels, Gauge>,
    prefix_paths: Family<PrefixLabels, Gauge>,
    /// The label sets last set, so that gone ones are removed.
    cluster_series: Mutex<Vec<ClusterLabels>>,
    prefix_series: Mutex<Vec<PrefixLabels>>,
    rib_paths: Gauge,
    fib_routes: Gauge,
    fib_errors: Counter,
    rss: Gauge,
    /// When each Established peer came up, for `peer_uptime_seconds`.
    up_since: Mutex<HashMap<IpAddr, Instant>>,
}

/// The metrics rbgpd exports; cheap to clone, all clones share the values.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn peer(p: IpAddr) -> PeerLabels {
    PeerLabels {
        peer: p.to_string(),
    }
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Metrics {
    /// Creates and registers every family.
    pub fn new() -> Self {
        let mut r = Registry::with_prefix("rbgpd");
        let inner = Inner {
            peer_up: Family::default(),
            peer_state: Family::default(),
            peer_uptime: Family::default(),
            bfd_state: Family::default(),
            bfd_transitions: Family::default(),
            messages_received: Family::default(),
            messages_sent: Family::default(),
            prefixes_received: Family::default(),
            prefixes_accepted: Family::default(),
            prefixes_advertised: Family::default(),
            rib_prefixes: Family::default(),
            cluster_nodes: Family::default(),
            prefix_ecmp_width: Family::default(),
            prefix_paths: Family::default(),
            cluster_series: Mutex::new(Vec::new()),
            prefix_series: Mutex::new(Vec::new()),
            rib_paths: Gauge::default(),
            fib_routes: Gauge::default(),
            fib_errors: Counter::default(),
            rss: Gauge::default(),
            up_since: Mutex::new(HashMap::new()),
            registry: Registry::default(),
        };
        r.register(
            "peer_up",
            "1 when the session is Established",
            inner.peer_up.clone(),
        );
        r.register(
            "peer_state",
            "1 for the peer's current FSM state, 0 for the others",
            inner.peer_state.clone(),
        );
        r.register(
            "peer_uptime_seconds",
            "Seconds since the session reached Established (0 when down)",
            inner.peer_uptime.clone(),
        );
        r.register(
            "bfd_state",
            "1 while the peer's BFD session is Up, 0 while it is not",
            inner.bfd_state.clone(),
        );
        r.register(
            "bfd_transitions",
            "Changes of state of the peer's BFD session",
            inner.bfd_transitions.clone(),
        );
        r.register(
            "messages_received",
            "BGP messages received, by type",
            inner.messages_received.clone(),
        );
        r.register(
            "messages_sent",
            "BGP messages sent, by type",
            inner.messages_sent.clone(),
        );
        r.register(
            "prefixes_received",
            "Prefixes in the peer's Adj-RIB-In",
            inner.prefixes_received.clone(),
        );
        r.register(
            "prefixes_accepted",
            "Prefixes from the peer accepted by import policy",
            inner.prefixes_accepted.clone(),
        );
        r.register(
            "prefixes_advertised",
            "Prefixes advertised to the peer",
            inner.prefixes_advertised.clone(),
        );
        r.register(
            "rib_prefixes",
            "Prefixes in the Loc-RIB",
            inner.rib_prefixes.clone(),
        );
        r.register("rib_paths", "Paths in the Loc-RIB", inner.rib_paths.clone());
        r.register(
            "cluster_nodes",
            "Nodes of a cluster (a range or a cluster label) by state: established, or not",
            inner.cluster_nodes.clone(),
        );
        r.register(
            "prefix_ecmp_width",
            "Next hops in the ECMP group of a service address (a /32 or /128; [metrics] \
             ecmp_width_max of them)",
            inner.prefix_ecmp_width.clone(),
        );
        r.register(
            "prefix_paths",
            "Nodes announcing a service address (candidate paths); above \
             rbgpd_prefix_ecmp_width, some are left out of ECMP",
            inner.prefix_paths.clone(),
        );
        r.register(
            "fib_routes_installed",
            "Routes rbgpd has installed in the kernel",
            inner.fib_routes.clone(),
        );
        r.register(
            "fib_errors",
            "Failed kernel route writes",
            inner.fib_errors.clone(),
        );
        r.register(
            "process_resident_memory_bytes",
            "Resident memory of rbgpd (VmRSS)",
            inner.rss.clone(),
        );
        Metrics {
            inner: Arc::new(Inner {
                registry: r,
                ..inner
            }),
        }
    }

    /// Sets a peer's FSM state (`peer_state`, `peer_up`). Entering
    /// Established starts the peer's uptime clock; leaving it resets
    /// `peer_uptime_seconds` to 0 (the uptime is computed at each scrape).
    pub fn set_peer_state(&self, p: IpAddr, state: PeerState) {
        let i = &self.inner;
        {
            let mut up = i.up_since.lock().unwrap_or_else(PoisonError::into_inner);
            if state == PeerState::Established {
                up.entry(p).or_insert_with(Instant::now);
            } else {
                up.remove(&p);
                i.peer_uptime.get_or_create(&peer(p)).set(0);
            }
        }
        for s in PeerState::ALL {
            let l = PeerStateLabels {
                peer: p.to_string(),
                state: s.as_str().to_string(),
            };
            i.peer_state.get_or_create(&l).set(i64::from(s == state));
        }
        i.peer_up
            .get_or_create(&peer(p))
            .set(i64::from(state == PeerState::Established));
    }

    /// Counts a message received from a peer.
    pub fn inc_message_received(&self, p: IpAddr, t: MessageType) {
        let l = MessageLabels {
            peer: p.to_string(),
            r#type: t.label().to_string(),
        };
        self.inner.messages_received.get_or_create(&l).inc();
    }

    /// Counts `n` messages of one type received from a peer.
    pub fn add_messages_received(&self, p: IpAddr, t: MessageType, n: u64) {
        let l = MessageLabels {
            peer: p.to_string(),
            r#type: t.label().to_string(),
        };
        self.inner.messages_received.get_or_create(&l).inc_by(n);
    }

    /// Counts `n` messages of one type sent to a peer.
    pub fn add_messages_sent(&self, p: IpAddr, t: MessageType, n: u64) {
        let l = MessageLabels {
            peer: p.to_string(),
            r#type: t.label().to_string(),
        };
        self.inner.messages_sent.get_or_create(&l).inc_by(n);
    }

    /// Counts a message sent to a peer.
    pub fn inc_message_sent(&self, p: IpAddr, t: MessageType) {
        let l = MessageLabels {
            peer: p.to_string(),
            r#type: t.label().to_string(),
        };
        self.inner.messages_sent.get_or_create(&l).inc();
    }

    /// Sets a peer's prefix counts for one family.
    pub fn set_prefixes(
        &self,
        p: IpAddr,
        family: &str,
        received: u64,
        accepted: u64,
        advertised: u64,
    ) {
        let l = PeerFamilyLabels {
            peer: p.to_string(),
            family: family.to_string(),
        };
        let i = &self.inner;
        i.prefixes_received.get_or_create(&l).set(to_i64(received));
        i.prefixes_accepted.get_or_create(&l).set(to_i64(accepted));
        i.prefixes_advertised
            .get_or_create(&l)
            .set(to_i64(advertised));
    }

    /// A peer's BFD session changed state (`bfd_state`, `bfd_transitions`).
    pub fn set_bfd(&self, p: IpAddr, up: bool) {
        let i = &self.inner;
        i.bfd_state.get_or_create(&peer(p)).set(i64::from(up));
        i.bfd_transitions.get_or_create(&peer(p)).inc();
    }

    /// Drops every series of a peer (a dynamic peer that went away, or a
    /// neighbor removed by reload).
    pub fn remove_peer(&self, p: IpAddr) {
        let i = &self.inner;
        i.up_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&p);
        i.peer_up.remove(&peer(p));
        i.peer_uptime.remove(&peer(p));
        i.bfd_state.remove(&peer(p));
        i.bfd_transitions.remove(&peer(p));
        for s in PeerState::ALL {
            i.peer_state.remove(&PeerStateLabels {
                peer: p.to_string(),
                state: s.as_str().to_string(),
            });
        }
        for t in [
            MessageType::Open,
            MessageType::Update,
            MessageType::Notification,
            MessageType::Keepalive,
            MessageType::RouteRefresh,
        ] {
            let l = MessageLabels {
                peer: p.to_string(),
                r#type: t.label().to_string(),
            };
            i.messages_received.remove(&l);
            i.messages_sent.remove(&l);
        }
        for f in crate::config::FAMILY_NAMES {
            let l = PeerFamilyLabels {
                peer: p.to_string(),
                family: f.to_string(),
            };
            i.prefixes_received.remove(&l);
            i.prefixes_accepted.remove(&l);
            i.prefixes_advertised.remove(&l);
        }
    }

    /// Sets the Loc-RIB prefix count of a family.
    pub fn set_rib_prefixes(&self, family: &str, n: u64) {
        let l = FamilyLabels {
            family: family.to_string(),
        };
        self.inner.rib_prefixes.get_or_create(&l).set(to_i64(n));
    }

    /// Sets every cluster's node counts, `(name, established, known)`;
    /// clusters gone since the last call lose their series.
    pub fn set_clusters(&self, clusters: &[(String, u64, u64)]) {
        let mut now = Vec::with_capacity(clusters.len() * 2);
        for (name, established, known) in clusters {
            for (state, n) in [
                ("established", *established),
                ("not_established", known.saturating_sub(*established)),
            ] {
                let l = ClusterLabels {
                    cluster: name.clone(),
                    state: state.into(),
                };
                self.inner.cluster_nodes.get_or_create(&l).set(to_i64(n));
                now.push(l);
            }
        }
        let mut last = self
            .inner
            .cluster_series
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for gone in last.iter().filter(|l| !now.contains(l)) {
            self.inner.cluster_nodes.remove(gone);
        }
        *last = now;
    }

    /// Sets the ECMP width and path count of each service address; those
    /// gone since the last call lose their series.
    pub fn set_services(&self, services: &[ServiceWidth]) {
        let now: Vec<PrefixLabels> = services
            .iter()
            .map(|s| PrefixLabels {
                prefix: s.prefix.clone(),
            })
            .collect();
        for (l, s) in now.iter().zip(services) {
            self.inner
                .prefix_ecmp_width
                .get_or_create(l)
                .set(to_i64(s.ecmp_width));
            self.inner
                .prefix_paths
                .get_or_create(l)
                .set(to_i64(s.paths));
        }
        let mut last = self
            .inner
            .prefix_series
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let keep: std::collections::HashSet<&PrefixLabels> = now.iter().collect();
        for gone in last.iter().filter(|l| !keep.contains(l)) {
            self.inner.prefix_ecmp_width.remove(gone);
            self.inner.prefix_paths.remove(gone);
        }
        *last = now;
    }

    /// Sets the Loc-RIB path count.
    pub fn set_rib_paths(&self, n: u64) {
        self.inner.rib_paths.set(to_i64(n));
    }

    /// Sets the number of routes installed in the kernel.
    pub fn set_fib_routes(&self, n: u64) {
        self.inner.fib_routes.set(to_i64(n));
    }

    /// Counts a failed kernel route write.
    pub fn inc_fib_errors(&self) {
        self.inner.fib_errors.inc();
    }

    /// The OpenMetrics text, with uptimes and the memory gauge refreshed.
    pub fn encode(&self) -> String {
        {
            let up = self
                .inner
                .up_since
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for (p, since) in up.iter() {
                let secs = to_i64(since.elapsed().as_secs());
                self.inner.peer_uptime.get_or_create(&peer(*p)).set(secs);
            }
        }
        if let Some(rss) = rss_bytes() {
            self.inner.rss.set(to_i64(rss));
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.inner.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Resident memory from /proc/self/status (VmRSS), bytes.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vmrss(&status)
}

fn parse_vmrss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Longest request head read, bytes.
const MAX_HEAD: usize = 8192;

/// Binds the metrics endpoint.
pub async fn bind_metrics(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Binds `addr` and serves `GET /metrics`; returns only when binding fails.
pub async fn serve_metrics(addr: SocketAddr, metrics: Metrics) -> std::io::Result<()> {
    serve_metrics_on(bind_metrics(addr).await?, metrics).await
}

/// Serves `GET /metrics` on a bound listener, one task per connection
/// (accept errors are logged and retried, so it does not return `Err`
/// today; the `Result` is kept for callers).
pub async fn serve_metrics_on(listener: TcpListener, metrics: Metrics) -> std::io::Result<()> {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!(error = %e, "metrics accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let m = metrics.clone();
        tokio::spawn(async move {
            let r = tokio::time::timeout(Duration::from_secs(10), handle_http(stream, m)).await;
            if let Ok(Err(e)) = r {
                tracing::debug!(error = %e, "metrics client");
            }
        });
    }
}

async fn handle_http(mut stream: TcpStream, metrics: Metrics) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(buf.get(..n).unwrap_or(&[]));
        if head.len() > MAX_HEAD {
            break;
        }
    }
    let head = String::from_utf8_lossy(&head);
    let mut first = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, ctype, body) = match (method, path) {
        ("GET", "/metrics") => (
            "200 OK",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.encode(),
        ),
        ("GET", _) => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "not found, try /metrics\n".into(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "only GET\n".into(),
        ),
    };
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(resp.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmrss_parses() {
        let s = "Name:\trbgpd\nVmRSS:\t   12345 kB\nThreads: 3\n";
        assert_eq!(parse_vmrss(s), Some(12345 * 1024));
        assert_eq!(parse_vmrss("Name: x\n"), None);
    }

    #[test]
    fn bfd_state_and_transitions() {
        let m = Metrics::new();
        let p: IpAddr = "10.0.1.2".parse().unwrap();
        m.set_bfd(p, true);
        m.set_bfd(p, false);
        let text = m.encode();
        assert!(
            text.contains("rbgpd_bfd_state{peer=\"10.0.1.2\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("rbgpd_bfd_transitions_total{peer=\"10.0.1.2\"} 2"),
            "{text}"
        );
    }

    /// Dynamic neighbors from ever new addresses: each forgotten one's
    /// series are removed, so the label sets stay those of the neighbors
    /// known at once.
    #[test]
    fn series_of_forgotten_peers_go() {
        let m = Metrics::new();
        let peer_lines = |m: &Metrics| m.encode().lines().filter(|l| l.contains("peer=\"")).count();
        let kept: IpAddr = "172.18.0.2".parse().unwrap();
        m.set_peer_state(kept, PeerState::Established);
        m.add_messages_received(kept, MessageType::Update, 1);
        let base = peer_lines(&m);
        for i in 0..3000u32 {
            let p = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            m.set_peer_state(p, PeerState::Established);
            m.set_peer_state(p, PeerState::Idle);
            m.add_messages_received(p, MessageType::Keepalive, 3);
            m.add_messages_sent(p, MessageType::Open, 1);
            m.set_prefixes(p, "ipv4-unicast", 1, 1, 1);
            m.set_prefixes(p, "ipv6-unicast", 1, 1, 1);
            m.set_bfd(p, true);
            m.remove_peer(p);
        }
        assert_eq!(peer_lines(&m), base);
    }

    async fn get(addr: SocketAddr, req: &str) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn scrape_over_http() {
        let m = Metrics::new();
        let p: IpAddr = "172.18.0.2".parse().unwrap();
        let down: IpAddr = "172.18.0.3".parse().unwrap();
        m.set_peer_state(down, PeerState::Established);
        m.set_peer_state(down, PeerState::Active);
        m.set_peer_state(p, PeerState::Established);
        m.inc_message_received(p, MessageType::Update);
        m.inc_message_received(p, MessageType::Update);
        m.inc_message_sent(p, MessageType::Keepalive);
        m.set_prefixes(p, "ipv4-unicast", 7, 6, 2);
        m.set_rib_prefixes("ipv4-unicast", 8);
        m.set_rib_paths(14);
        m.set_fib_routes(8);
        m.inc_fib_errors();
        let listener = bind_metrics("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(serve_metrics_on(listener, m.clone()));

        let body = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(body.starts_with("HTTP/1.1 200 OK\r\n"), "{body}");
        for line in [
            "rbgpd_peer_up{peer=\"172.18.0.2\"} 1",
            "rbgpd_peer_state{peer=\"172.18.0.2\",state=\"established\"} 1",
            "rbgpd_peer_state{peer=\"172.18.0.2\",state=\"idle\"} 0",
            "rbgpd_peer_uptime_seconds{peer=\"172.18.0.2\"} 0",
            "rbgpd_peer_uptime_seconds{peer=\"172.18.0.3\"} 0",
            "rbgpd_peer_up{peer=\"172.18.0.3\"} 0",
            "rbgpd_peer_state{peer=\"172.18.0.3\",state=\"active\"} 1",
            "rbgpd_messages_received_total{peer=\"172.18.0.2\",type=\"update\"} 2",
            "rbgpd_messages_sent_total{peer=\"172.18.0.2\",type=\"keepalive\"} 1",
            "rbgpd_prefixes_received{peer=\"172.18.0.2\",family=\"ipv4-unicast\"} 7",
            "rbgpd_prefixes_accepted{peer=\"172.18.0.2\",family=\"ipv4-unicast\"} 6",
            "rbgpd_prefixes_advertised{peer=\"172.18.0.2\",family=\"ipv4-unicast\"} 2",
            "rbgpd_rib_prefixes{family=\"ipv4-unicast\"} 8",
            "rbgpd_rib_paths 14",
            "rbgpd_fib_routes_installed 8",
            "rbgpd_fib_errors_total 1",
            "# TYPE rbgpd_process_resident_memory_bytes gauge",
            "# EOF",
        ] {
            assert!(
                body.lines().any(|l| l == line),
                "missing {line:?} in\n{body}"
            );
        }
        let rss = body
            .lines()
            .find_map(|l| l.strip_prefix("rbgpd_process_resident_memory_bytes "))
            .unwrap();
        assert!(rss.parse::<u64>().unwrap() > 0);

        m.remove_peer(p);
        let body = get(addr, "GET /metrics?x=1 HTTP/1.0\r\n\r\n").await;
        assert!(!body.contains("172.18.0.2"), "{body}");
        assert!(body.contains("172.18.0.3"), "{body}");

        let nf = get(addr, "GET / HTTP/1.1\r\n\r\n").await;
        assert!(nf.starts_with("HTTP/1.1 404 Not Found\r\n"), "{nf}");
        let na = get(addr, "POST /metrics HTTP/1.1\r\n\r\n").await;
        assert!(
            na.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
            "{na}"
        );
        task.abort();
    }

    #[test]
    fn cluster_and_service_series_that_are_gone_are_removed() {
        let m = Metrics::new();
        m.set_clusters(&[("kind".into(), 2, 3), ("kind2".into(), 3, 3)]);
        let w = |p: &str, paths, width| ServiceWidth {
            prefix: p.into(),
            paths,
            ecmp_width: width,
        };
        m.set_services(&[w("10.11.192.248/32", 3, 2), w("10.12.225.247/32", 3, 3)]);
        let text = m.encode();
        for want in [
            "rbgpd_cluster_nodes{cluster=\"kind\",state=\"established\"} 2",
            "rbgpd_cluster_nodes{cluster=\"kind\",state=\"not_established\"} 1",
            "rbgpd_prefix_ecmp_width{prefix=\"10.11.192.248/32\"} 2",
            "rbgpd_prefix_paths{prefix=\"10.11.192.248/32\"} 3",
        ] {
            assert!(text.contains(want), "{want} missing:\n{text}");
        }
        m.set_clusters(&[("kind".into(), 3, 3)]);
        m.set_services(&[w("10.11.192.248/32", 3, 3)]);
        let text = m.encode();
        assert!(!text.contains("kind2"), "{text}");
        assert!(!text.contains("10.12.225.247"), "{text}");
        assert!(text.contains("rbgpd_prefix_ecmp_width{prefix=\"10.11.192.248/32\"} 3"));
    }
}
