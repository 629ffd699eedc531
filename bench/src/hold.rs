//! After convergence: BFD's time to Up and the hold (`--bfd`, `--hold`).
//!
//! Once the monitor holds every prefix, the run waits for every BFD
//! session to be Up on both sides (the speakers' table, and rbgpd's
//! `show bfd`), then for BGP to fall quiet (no UPDATE to any feeder for
//! [`QUIET`]: the daemon's re-advertisements are done), and then holds for
//! the given time, reading the daemon's CPU time, the speakers' count of
//! sessions leaving Up, and rbgpd's `rbgpd_bfd_transitions_total` at both
//! ends. A hold without BFD measures the same with BFD off, so the
//! difference is what BFD costs.

use crate::bfd_speaker::BfdSpeakers;
use crate::bfd_table::Drops;
use crate::procstat::ProcStat;
use crate::speaker::Feeder;
use crate::{Error, Result};
use bgpd::ctl::client::Client;
use bgpd::ctl::proto::{BfdSession, Request, Response};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// BGP is quiet after this long without an UPDATE to any feeder.
pub const QUIET: Duration = Duration::from_secs(2);

/// What a run with BFD measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BfdRun {
    /// From the clock's start until every speaker session was Up at once.
    pub all_up: Duration,
    /// From the clock's start until rbgpd's `show bfd` listed every
    /// session Up (polled every 200 ms).
    pub rbgpd_all_up: Duration,
    /// Speaker sessions that left Up, from the clock's start to the end.
    pub downs: u64,
    /// Of those, during the hold.
    pub hold_downs: u64,
    /// Change of rbgpd's `rbgpd_bfd_transitions_total` (summed over its
    /// peers) over the hold.
    pub rbgpd_hold_transitions: Option<u64>,
    /// Sessions rbgpd listed as Up at the end of the hold.
    pub rbgpd_up_at_end: usize,
    /// The smallest uptime among them at the end, seconds.
    pub rbgpd_min_uptime: Option<u64>,
    /// The latest the speakers' BFD thread ran a deadline.
    pub max_late: Duration,
    /// Packets the speakers dropped.
    pub drops: Drops,
    /// Packets the speakers' sending socket refused.
    pub send_errors: u64,
    /// The UDP error counters of the speakers' namespace over the run.
    pub udp_peers: Option<UdpErrors>,
    /// The UDP error counters of the daemon's namespace over the run.
    pub udp_dut: Option<UdpErrors>,
    /// Their growth over the hold.
    pub udp_dut_hold: Option<UdpErrors>,
}

/// A namespace's UDP error counters (`/proc/net/snmp`, line `Udp:`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UdpErrors {
    /// InErrors: datagrams not delivered (RcvbufErrors among them).
    pub in_errors: u64,
    /// RcvbufErrors: a receiving socket's buffer was full.
    pub rcvbuf_errors: u64,
    /// SndbufErrors: a sending socket's buffer was full.
    pub sndbuf_errors: u64,
}

impl UdpErrors {
    /// Parses the text of `/proc/net/snmp`.
    pub fn parse(snmp: &str) -> Option<UdpErrors> {
        let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
        let (names, values) = (udp.next()?, udp.next()?);
        let get = |key: &str| -> Option<u64> {
            let i = names.split_whitespace().position(|n| n == key)?;
            values.split_whitespace().nth(i)?.parse().ok()
        };
        Some(UdpErrors {
            in_errors: get("InErrors")?,
            rcvbuf_errors: get("RcvbufErrors")?,
            sndbuf_errors: get("SndbufErrors")?,
        })
    }

    /// The counters of the calling thread's namespace.
    pub fn here() -> Option<UdpErrors> {
        UdpErrors::parse(&std::fs::read_to_string("/proc/thread-self/net/snmp").ok()?)
    }

    /// The counters of the namespace of process `pid`.
    pub fn of(pid: u32) -> Option<UdpErrors> {
        UdpErrors::parse(&std::fs::read_to_string(format!("/proc/{pid}/net/snmp")).ok()?)
    }

    /// `self - earlier`, counter by counter.
    pub fn since(self, earlier: UdpErrors) -> UdpErrors {
        UdpErrors {
            in_errors: self.in_errors.saturating_sub(earlier.in_errors),
            rcvbuf_errors: self.rcvbuf_errors.saturating_sub(earlier.rcvbuf_errors),
            sndbuf_errors: self.sndbuf_errors.saturating_sub(earlier.sndbuf_errors),
        }
    }
}

/// Where the hold reads rbgpd.
#[derive(Debug, Clone)]
pub struct Probes {
    /// rbgpd's control socket.
    pub ctl: Option<PathBuf>,
    /// rbgpd's metrics endpoint.
    pub metrics: Option<SocketAddr>,
    /// The daemon's processes.
    pub pids: Vec<u32>,
}

/// What the hold measured, besides BFD.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HoldResult {
    /// The daemon's CPU seconds over the hold.
    pub cpu_secs: Option<f64>,
    /// Feeder sessions that had ended by the end of the hold.
    pub feeders_lost: usize,
    /// The daemon's resident set at the end, KiB.
    pub rss_kib: Option<u64>,
    /// The harness's own CPU seconds over the hold (its speakers, BFD's
    /// thread among them, share the machine with the daemon).
    pub harness_cpu_secs: Option<f64>,
}

/// Waits for BFD (when `bfd` runs), then BGP's quiet, then holds for
/// `hold` (if not zero). `t0` is the clock's start.
pub async fn run(
    probes: &Probes,
    feeders: &[Feeder],
    bfd: Option<&BfdSpeakers>,
    t0: Instant,
    hold: Duration,
    limit: Duration,
) -> Result<(HoldResult, Option<BfdRun>)> {
    let mut bfd_run = None;
    if let Some(speakers) = bfd {
        let at = speakers.wait_all_up(limit).await?;
        let n = speakers.tally().sessions;
        let rbgpd_at = match &probes.ctl {
            Some(ctl) => wait_rbgpd_up(ctl, n, limit).await?,
            None => at,
        };
        bfd_run = Some(BfdRun {
            all_up: at.saturating_duration_since(t0),
            rbgpd_all_up: rbgpd_at.saturating_duration_since(t0),
            ..BfdRun::default()
        });
    }
    wait_quiet(feeders, limit).await?;
    let mut result = HoldResult::default();
    if !hold.is_zero() {
        let cpu0 = ProcStat::sum(&probes.pids).map(|s| s.cpu_secs);
        let own0 = ProcStat::read(std::process::id()).map(|s| s.cpu_secs);
        let tally0 = bfd.map(BfdSpeakers::tally);
        let m0 = transitions(probes).await;
        let udp0 = dut_udp(probes);
        tokio::time::sleep(hold).await;
        let udp1 = dut_udp(probes);
        let end = ProcStat::sum(&probes.pids);
        let own1 = ProcStat::read(std::process::id()).map(|s| s.cpu_secs);
        result.harness_cpu_secs = own0.zip(own1).map(|(a, b)| b - a);
        let m1 = transitions(probes).await;
        result.cpu_secs = cpu0.zip(end).map(|(a, b)| b.cpu_secs - a);
        result.rss_kib = end.map(|e| e.rss_kib);
        if let (Some(run), Some(t0)) = (bfd_run.as_mut(), tally0) {
            run.hold_downs = bfd.map_or(0, |s| s.tally().downs) - t0.downs;
            run.rbgpd_hold_transitions = m0.zip(m1).map(|(a, b)| b.saturating_sub(a));
            run.udp_dut_hold = udp1.zip(udp0).map(|(b, a)| b.since(a));
        }
    }
    result.feeders_lost = feeders
        .iter()
        .filter(|f| f.closed.load(Ordering::Relaxed))
        .count();
    if let (Some(run), Some(speakers)) = (bfd_run.as_mut(), bfd) {
        let t = speakers.tally();
        run.downs = t.downs;
        run.max_late = t.max_late;
        run.drops = t.drops;
        run.send_errors = t.send_errors;
        run.udp_peers = UdpErrors::here();
        run.udp_dut = dut_udp(probes);
        if let Some(ctl) = &probes.ctl {
            let sessions = show_bfd(ctl).await?;
            let up: Vec<&BfdSession> = sessions.iter().filter(|s| s.state == "Up").collect();
            run.rbgpd_up_at_end = up.len();
            run.rbgpd_min_uptime = up.iter().filter_map(|s| s.uptime_secs).min();
        }
    }
    Ok((result, bfd_run))
}

/// The UDP counters of the daemon's namespace (through its first process).
fn dut_udp(probes: &Probes) -> Option<UdpErrors> {
    UdpErrors::of(*probes.pids.first()?)
}

/// rbgpd's `show bfd`.
pub async fn show_bfd(ctl: &Path) -> Result<Vec<BfdSession>> {
    let path = ctl.to_path_buf();
    let r = tokio::task::spawn_blocking(move || {
        Client::connect(&path).and_then(|mut c| c.request(&Request::ShowBfd))
    })
    .await
    .map_err(|_| Error::Usage("control client task failed".into()))?;
    match r {
        Ok(Response::Bfd { sessions }) => Ok(sessions),
        Ok(other) => Err(Error::Usage(format!(
            "show bfd: unexpected answer {other:?}"
        ))),
        Err(e) => Err(Error::Usage(format!("show bfd: {e}"))),
    }
}

/// Polls rbgpd's `show bfd` every 200 ms until it lists `n` sessions Up.
async fn wait_rbgpd_up(ctl: &Path, n: usize, limit: Duration) -> Result<Instant> {
    let deadline = Instant::now() + limit;
    loop {
        let up = show_bfd(ctl)
            .await?
            .iter()
            .filter(|s| s.state == "Up")
            .count();
        if up >= n {
            return Ok(Instant::now());
        }
        if Instant::now() > deadline {
            return Err(Error::Timeout {
                what: format!("rbgpd's BFD sessions ({up} of {n} Up)"),
                secs: limit.as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until no feeder has received an UPDATE for [`QUIET`].
async fn wait_quiet(feeders: &[Feeder], limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    let count = || -> u64 {
        feeders
            .iter()
            .map(|f| f.updates_in.load(Ordering::Relaxed))
            .sum()
    };
    let mut last = count();
    let mut since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = count();
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= QUIET {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::Timeout {
                what: "BGP to fall quiet (UPDATEs to the feeders)".into(),
                secs: limit.as_secs(),
            });
        }
    }
}

/// rbgpd's BFD transitions so far (`None` without metrics, or when the
/// scrape fails).
async fn transitions(probes: &Probes) -> Option<u64> {
    let addr = probes.metrics?;
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: rbgpd\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut body = Vec::new();
    s.read_to_end(&mut body).await.ok()?;
    Some(sum_transitions(&String::from_utf8_lossy(&body)))
}

/// The sum of `rbgpd_bfd_transitions_total` over every peer in a metrics
/// text.
pub fn sum_transitions(text: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with("rbgpd_bfd_transitions_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_are_summed_over_peers() {
        let text = "# TYPE rbgpd_bfd_transitions counter\n\
                    rbgpd_bfd_transitions_total{peer=\"10.99.1.1\"} 2\n\
                    rbgpd_bfd_transitions_total{peer=\"10.99.1.2\"} 3\n\
                    rbgpd_bfd_state{peer=\"10.99.1.1\"} 1\n\
                    rbgpd_bfd_transitions_created{peer=\"10.99.1.1\"} 1.7e9\n";
        assert_eq!(sum_transitions(text), 5);
        assert_eq!(sum_transitions(""), 0);
    }

    #[test]
    fn udp_errors_are_read_by_name() {
        let snmp = "Tcp: RtoAlgorithm RtoMin\nTcp: 1 200\n\
                    Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors \
                    InCsumErrors IgnoredMulti MemErrors\n\
                    Udp: 100 2 7 90 5 3 0 0 0\n\
                    UdpLite: InDatagrams\nUdpLite: 0\n";
        assert_eq!(
            UdpErrors::parse(snmp),
            Some(UdpErrors {
                in_errors: 7,
                rcvbuf_errors: 5,
                sndbuf_errors: 3
            })
        );
        assert_eq!(UdpErrors::parse("Tcp: 1\n"), None);
    }
}
