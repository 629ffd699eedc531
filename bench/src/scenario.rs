//! The scenarios and one measured run of a scenario against a target.
//!
//! A run: build the two namespaces, start the daemon, connect the monitor
//! and wait for the daemon's End-of-RIB to it (its table is empty then),
//! then start the clock and connect every feeder at once. Measured from
//! that instant: all feeder sessions Established, the monitor holding all
//! N prefixes, the kernel table holding them (FIB mode), and for churn the
//! time the monitor takes to reflect a withdrawal of 10 % and their
//! re-announcement. Peak RSS is the daemon's VmHWM at the end; CPU is its
//! user + system time spent from the clock's start to the end. With BFD
//! (rbgpd only) the speakers run a BFD session per feeder from the clock's
//! start; BFD's time to Up and a hold after convergence are [`hold`]'s.
//!
//! Dual stack (scenario F, or any scenario with IPv6 prefixes): every
//! session also carries IPv6 unicast, and "every prefix" means every IPv4
//! *and* every IPv6 one, at the monitor and in the kernel (IPv4 and IPv6
//! tables dumped apart).

use crate::bfd_speaker::BfdSpeakers;
use crate::daemons::{self, Daemon, Neighbor, Setup};
use crate::fib::RouteCounter;
use crate::flap::{self, FlapRun};
use crate::hold::{self, BfdRun, Probes};
use crate::netns::{addr6_of, Topology, DUT_ADDR, MONITOR_ADDR, STALLED_ADDR};
use crate::procstat::ProcStat;
use crate::speaker::{self, Feeder, Identity, Monitor, Stalled};
use crate::workload::{self, Workload};
use crate::{Error, Result};
use bgp_proto::types::Family;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The monitor's AS.
pub const MONITOR_AS: u32 = 64_999;
/// The stalled peer's AS.
pub const STALLED_AS: u32 = 64_998;
/// The first feeder's AS (private 4-octet range); feeder k has this + k.
pub const FEEDER_AS_BASE: u32 = 4_200_000_001;
/// BFD's interval with `--bfd`, both ways, milliseconds.
pub const BFD_INTERVAL_MS: u32 = 300;
/// BFD's detection multiplier with `--bfd`.
pub const BFD_MULTIPLIER: u8 = 3;
/// Port of rbgpd's metrics endpoint on the daemon's address (runs with
/// BFD or a hold).
pub const METRICS_PORT: u16 = 9179;

/// One of the scenarios A to F.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// Its letter (or "custom").
    pub name: String,
    /// IPv4 prefixes over all feeders.
    pub prefixes: usize,
    /// IPv6 prefixes over all feeders; above zero, the run is dual stack
    /// (every session carries both families).
    pub prefixes6: usize,
    /// Feeder sessions.
    pub feeders: usize,
    /// Withdraw 10 % after convergence, then announce them again.
    pub churn: bool,
    /// FIB mode: the daemon writes routes into the kernel.
    pub fib: bool,
    /// The feeders' connects are spread evenly over this time (zero: all
    /// at once).
    pub spread: Duration,
    /// Before the clock starts, a peer connects that never reads and sends
    /// this many ROUTE-REFRESHes (`--stalled N`); the daemon's output to
    /// it piles up while the feeders' tables arrive.
    pub stalled: Option<usize>,
    /// Time to let pass after the measurement before reading the peak RSS
    /// (`--linger`: how the daemon fares with a stalled peer over time).
    pub linger: Duration,
    /// BFD on every feeder session (rbgpd only), at [`BFD_INTERVAL_MS`] x
    /// [`BFD_MULTIPLIER`] on both sides.
    pub bfd: bool,
    /// After convergence (and BFD Up), hold this long once BGP is quiet,
    /// measuring the daemon's CPU and BFD's Downs (`--hold`).
    pub hold: Duration,
    /// After convergence, a rolling restart: every feeder's session
    /// closes and comes back, the closes spread over this time
    /// (`--flap`; see [`flap`]).
    pub flap: Option<Duration>,
}

impl Scenario {
    /// A scenario by letter: A) 100,000 prefixes from 1 peer; B) 1,000,000
    /// from 1; C) 1,000,000 over 6; D) 1,000 sessions with 4 prefixes each;
    /// E) A followed by churn; F) dual stack, 1,000,000 IPv4 and 250,000
    /// IPv6 prefixes over 2 peers.
    pub fn by_name(name: &str, fib: bool) -> Result<Scenario> {
        let (prefixes, prefixes6, feeders, churn) = match name.to_ascii_uppercase().as_str() {
            "A" => (100_000, 0, 1, false),
            "B" => (1_000_000, 0, 1, false),
            "C" => (1_000_000, 0, 6, false),
            "D" => (4_000, 0, 1_000, false),
            "E" => (100_000, 0, 1, true),
            "F" => (1_000_000, 250_000, 2, false),
            other => return Err(Error::Usage(format!("unknown scenario {other:?} (A-F)"))),
        };
        Ok(Scenario {
            name: name.to_ascii_uppercase(),
            prefixes,
            prefixes6,
            feeders,
            churn,
            fib,
            spread: Duration::ZERO,
            stalled: None,
            linger: Duration::ZERO,
            bfd: false,
            hold: Duration::ZERO,
            flap: None,
        })
    }

    /// "A" or "A (FIB)".
    pub fn label(&self) -> String {
        let mut l = self.name.clone();
        if self.fib {
            l.push_str(" (FIB)");
        }
        if let Some(n) = self.stalled {
            l.push_str(&format!(" (stalled peer, {n} refreshes/s)"));
        }
        if !self.linger.is_zero() {
            l.push_str(&format!(" (+{} s)", self.linger.as_secs()));
        }
        if !self.spread.is_zero() {
            l.push_str(&format!(
                " (connects over {:.1} s)",
                self.spread.as_secs_f64()
            ));
        }
        if self.bfd {
            l.push_str(&format!(" (BFD {BFD_INTERVAL_MS} ms x {BFD_MULTIPLIER})"));
        }
        if !self.hold.is_zero() {
            l.push_str(&format!(" (hold {} s)", self.hold.as_secs()));
        }
        if let Some(over) = self.flap {
            l.push_str(&format!(
                " (rolling restart over {:.1} s)",
                over.as_secs_f64()
            ));
        }
        l
    }

    /// The feeders' addresses and ASes: 10.99.1.1, 10.99.1.2, ... (250
    /// per /24).
    pub fn feeder_identities(&self) -> Vec<(Ipv4Addr, u32)> {
        (0..self.feeders)
            .map(|k| {
                let third = u8::try_from(1 + k / 250).unwrap_or(255);
                let fourth = u8::try_from(1 + k % 250).unwrap_or(255);
                let asn = FEEDER_AS_BASE + u32::try_from(k).unwrap_or(0);
                (Ipv4Addr::new(10, 99, third, fourth), asn)
            })
            .collect()
    }

    /// Sets the IPv4 prefix count (`--prefixes`); a dual-stack scenario's
    /// IPv6 count follows in the same ratio (F: a quarter), so a smaller F
    /// keeps its shape.
    pub fn scale_prefixes(&mut self, prefixes: usize) {
        if let Some(p6) = prefixes
            .saturating_mul(self.prefixes6)
            .checked_div(self.prefixes)
        {
            self.prefixes6 = p6;
        }
        self.prefixes = prefixes;
    }

    /// Whether the sessions carry IPv6 unicast too.
    pub fn dual_stack(&self) -> bool {
        self.prefixes6 > 0
    }

    /// The feeders' IPv6 addresses, the next hops of their IPv6 routes
    /// (fd99::1:1, fd99::1:2, ..., matching their IPv4 ones); none unless
    /// dual stack.
    pub fn feeder_addrs6(&self) -> Vec<Ipv6Addr> {
        if !self.dual_stack() {
            return Vec::new();
        }
        self.feeder_identities()
            .iter()
            .map(|(a, _)| addr6_of(*a))
            .collect()
    }

    /// The scenario's workload.
    pub fn workload(&self, seed: u64) -> Result<Workload> {
        workload::generate_dual(
            self.prefixes,
            self.prefixes6,
            &self.feeder_identities(),
            &self.feeder_addrs6(),
            seed,
        )
    }
}

/// What one run measured (durations from the clock's start).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunResult {
    /// Every feeder session Established.
    pub established: Duration,
    /// The monitor holds every prefix.
    pub converged: Duration,
    /// The kernel table holds every prefix (FIB mode).
    pub fib: Option<Duration>,
    /// IPv4 and IPv6 prefixes the monitor held when it had them all.
    pub at_monitor: (usize, usize),
    /// IPv4 and IPv6 routes of the daemon in the kernel when it had them
    /// all (FIB mode; from the confirming dumps).
    pub in_kernel: Option<(usize, usize)>,
    /// Churn: from sending the withdrawals to the monitor reflecting them.
    pub withdraw: Option<Duration>,
    /// Churn: from sending the re-announcements to the monitor holding all.
    pub reannounce: Option<Duration>,
    /// Peak RSS of the daemon's processes, KiB.
    pub peak_rss_kib: Option<u64>,
    /// CPU seconds of the daemon's processes during the measurement.
    pub cpu_secs: Option<f64>,
    /// Whether the daemon sent End-of-RIB to the monitor before the start.
    pub dut_end_of_rib: bool,
    /// CPU seconds of the daemon's processes over the hold (`--hold`).
    pub hold_cpu_secs: Option<f64>,
    /// Resident set of the daemon's processes at the end of the hold, KiB.
    pub hold_rss_kib: Option<u64>,
    /// The harness's own CPU seconds over the hold.
    pub harness_hold_cpu_secs: Option<f64>,
    /// Feeder sessions that had ended by the end of the run (with a hold
    /// or BFD; a BFD Down ends rbgpd's BGP session).
    pub feeders_lost: Option<usize>,
    /// BFD's measurements (`--bfd`).
    pub bfd: Option<BfdRun>,
    /// The rolling restart's measurements (`--flap`).
    pub flap: Option<FlapRun>,
}

/// Settings shared by every run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Limit for each phase.
    pub timeout: Duration,
    /// The rbgpd binary.
    pub rbgpd: PathBuf,
    /// Where run directories (configs, logs) go.
    pub work_dir: PathBuf,
    /// Profile the daemon with `perf record -e cpu-clock -g` at this many
    /// samples per second (kept as `perf.data` in the run directory;
    /// perf's own cost skews the run).
    pub perf: Option<u32>,
}

/// Where the speakers connect and who measures what.
struct Plan<'a> {
    scenario: &'a Scenario,
    workload: &'a Workload,
    /// The daemon's (or the null sink's) address.
    remote: SocketAddr,
    /// Source addresses of the feeders (by index).
    locals: Vec<Ipv4Addr>,
    /// Connect the monitor to `remote` from this address; `None` in
    /// null-sink mode (the monitor is the listener).
    monitor_from: Option<Ipv4Addr>,
    /// Connect the stalled peer from this address (`--stalled`).
    stalled_from: Option<Ipv4Addr>,
    pids: Vec<u32>,
    fib: Option<Arc<RouteCounter>>,
    timeout: Duration,
    /// rbgpd's control socket and metrics endpoint, for the hold.
    ctl: Option<PathBuf>,
    metrics: Option<SocketAddr>,
}

/// The harness against itself: the feeders connect straight to a
/// listening monitor on loopback. Shows the harness's own ceiling.
pub fn run_null(scenario: &Scenario, workload: &Workload, timeout: Duration) -> Result<RunResult> {
    let rt = runtime()?;
    rt.block_on(async {
        let me = Identity {
            asn: MONITOR_AS,
            router_id: MONITOR_ADDR,
            graceful_restart: false,
            ipv6: workload.dual_stack(),
        };
        let (monitor, bound) = Monitor::listen(SocketAddr::from(([127, 0, 0, 1], 0)), me)?;
        let plan = Plan {
            scenario,
            workload,
            remote: bound,
            locals: vec![Ipv4Addr::LOCALHOST; workload.feeders.len()],
            monitor_from: None,
            stalled_from: None,
            pids: Vec::new(),
            fib: None,
            timeout,
            ctl: None,
            metrics: None,
        };
        measure(&plan, Some(monitor)).await
    })
}

/// FIB mode's yardstick: `ip -batch` adds the same routes (each via its
/// feeder, protocol bgp) in a fresh daemon namespace; `fib` is the time
/// from starting it until it returned and a dump counts every route.
/// There are no sessions: `established` and `converged` stay zero.
pub fn run_ip_batch(scenario: &Scenario, workload: &Workload, run: usize) -> Result<RunResult> {
    let tag = format!("ipb{}{run}", scenario.name.to_ascii_lowercase());
    let addrs: Vec<Ipv4Addr> = workload.feeders.iter().map(|f| f.addr).collect();
    let addrs6: Vec<Ipv6Addr> = workload.feeders.iter().filter_map(|f| f.addr6).collect();
    let topo = Topology::create(&tag, &addrs, &addrs6)?;
    let mut lines = String::with_capacity(workload.prefix_count() * 48);
    for f in &workload.feeders {
        for g in &f.groups {
            let via = match (g.family() == Family::IPV4_UNICAST, f.addr6) {
                (false, Some(a6)) => a6.to_string(),
                _ => f.addr.to_string(),
            };
            for n in &g.nlri {
                let _ = writeln!(lines, "route add {} via {via} proto bgp", n.prefix);
            }
        }
    }
    let (want4, want6) = (
        workload.family_count(Family::IPV4_UNICAST),
        workload.family_count(Family::IPV6_UNICAST),
    );
    let counter = RouteCounter::open_in(&topo.dut)?;
    let t0 = Instant::now();
    topo.dut.ip_batch(&lines)?;
    let n = counter.count()?;
    let n6 = if want6 > 0 { counter.count6()? } else { 0 };
    let took = t0.elapsed();
    if n < want4 || n6 < want6 {
        return Err(Error::Usage(format!(
            "ip -batch left {n} of {want4} IPv4 and {n6} of {want6} IPv6 routes in the kernel"
        )));
    }
    Ok(RunResult {
        fib: Some(took),
        in_kernel: Some((n, n6)),
        ..RunResult::default()
    })
}

/// One run of `scenario` against `daemon`, in fresh namespaces.
pub fn run_daemon(
    daemon: Daemon,
    scenario: &Scenario,
    workload: &Workload,
    opts: &Options,
    run: usize,
) -> Result<RunResult> {
    if scenario.bfd && daemon != Daemon::Rbgpd {
        return Err(Error::Usage(format!(
            "BFD runs are set up for rbgpd only, not {}",
            daemon.name()
        )));
    }
    let tag = format!(
        "{}{}{run}{}",
        daemon.name(),
        scenario.name.to_ascii_lowercase(),
        if scenario.bfd { "b" } else { "" }
    );
    let dir = opts.work_dir.join(format!(
        "{}-{}{}{}-{run}",
        daemon.name(),
        scenario.name,
        if scenario.fib { "-fib" } else { "" },
        if scenario.bfd { "-bfd" } else { "" }
    ));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("mkdir {}", dir.display()), e))?;
    let ids = scenario.feeder_identities();
    let addrs: Vec<Ipv4Addr> = ids.iter().map(|(a, _)| *a).collect();
    // rbgpd is probed (control socket, metrics) for BFD and the hold.
    let probe = daemon == Daemon::Rbgpd && (scenario.bfd || !scenario.hold.is_zero());
    let metrics = SocketAddr::V4(SocketAddrV4::new(DUT_ADDR, METRICS_PORT));
    let mut on_peers = addrs.clone();
    if scenario.stalled.is_some() {
        on_peers.push(STALLED_ADDR);
    }
    let topo = Topology::create(&tag, &on_peers, &scenario.feeder_addrs6())?;
    let setup = Setup {
        feeders: ids
            .iter()
            .map(|&(addr, asn)| Neighbor { addr, asn })
            .collect(),
        monitor: Neighbor {
            addr: MONITOR_ADDR,
            asn: MONITOR_AS,
        },
        stalled: scenario.stalled.map(|_| Neighbor {
            addr: STALLED_ADDR,
            asn: STALLED_AS,
        }),
        fib: scenario.fib,
        ipv6: scenario.dual_stack(),
        dir: dir.clone(),
        rbgpd: opts.rbgpd.clone(),
        bfd: scenario.bfd.then_some(bgpd::config::BfdTimers {
            interval_ms: BFD_INTERVAL_MS,
            multiplier: BFD_MULTIPLIER,
        }),
        metrics: probe.then_some(metrics),
    };
    let mut running = daemons::start(daemon, &topo.dut, &setup)?;
    let profiler = if let Some(freq) = opts.perf {
        let pids: Vec<String> = running.pids().iter().map(u32::to_string).collect();
        let mut c = std::process::Command::new("perf");
        c.args([
            "record",
            "-e",
            "cpu-clock",
            "-F",
            &freq.to_string(),
            "-g",
            "-o",
        ])
        .arg(dir.join("perf.data"))
        .arg("-p")
        .arg(pids.join(","));
        Some(testbed::Proc::spawn("perf", c, &dir.join("perf.log"))?)
    } else {
        None
    };
    let fib = if scenario.fib {
        Some(Arc::new(RouteCounter::open_in(&topo.dut)?))
    } else {
        None
    };
    let plan = Plan {
        scenario,
        workload,
        remote: SocketAddr::V4(SocketAddrV4::new(DUT_ADDR, 179)),
        locals: addrs,
        monitor_from: Some(MONITOR_ADDR),
        stalled_from: scenario.stalled.map(|_| STALLED_ADDR),
        pids: running.pids(),
        fib,
        timeout: opts.timeout,
        ctl: probe.then(|| dir.join("rbgpd.sock")),
        metrics: probe.then_some(metrics),
    };
    let peers = &topo.peers;
    let result = peers
        .run(|| runtime()?.block_on(measure(&plan, None)))
        .map_err(Error::from)
        .and_then(|r| r);
    let alive = running.check_alive();
    if let Some(mut p) = profiler {
        // perf writes its data on SIGINT; give it time to.
        let _ = p.signal(libc::SIGINT);
        let deadline = Instant::now() + Duration::from_secs(30);
        while p.exited().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    drop(running);
    drop(topo);
    match (result, alive) {
        (Ok(r), _) => Ok(r),
        (Err(e), Err(dead)) => Err(Error::Daemon {
            daemon: daemon.name().into(),
            detail: format!("{e}; {dead}; logs in {}", dir.display()),
        }),
        (Err(e), Ok(())) => Err(Error::Daemon {
            daemon: daemon.name().into(),
            detail: format!("{e}; logs in {}", dir.display()),
        }),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("tokio runtime", e))
}

/// Polls the kernel tables until they hold `target` IPv4 and `target6`
/// IPv6 routes (returns when, and the dumps' counts): the statistics (IPv4's trie, IPv6's entry counter; at
/// least 50 ms apart, and busy at most a quarter of the time: at a million
/// routes a read walks the trie for ~50 ms of CPU the daemon would
/// otherwise have) and, once they show enough routes, dumps that confirm
/// the daemon wrote them (the time is that of the statistics). Without
/// the statistics, dumps only. The IPv6 table is not read when `target6`
/// is zero.
async fn wait_fib(
    counter: Arc<RouteCounter>,
    target: usize,
    target6: usize,
    limit: Duration,
) -> Result<(Instant, usize, usize)> {
    let deadline = Instant::now() + limit;
    let both = |n: usize, n6: usize| format!("{n} of {target} IPv4, {n6} of {target6} IPv6");
    loop {
        let c = counter.clone();
        let asked = Instant::now();
        let quick = tokio::task::spawn_blocking(move || {
            let q6 = if target6 > 0 {
                c.quick_count6()
            } else {
                Some(0)
            };
            (c.quick_count(), q6)
        })
        .await
        .map_err(|_| Error::Usage("netlink task failed".into()))?;
        let seen = Instant::now();
        let spent = seen - asked;
        let short = quick.0.is_some_and(|q| q < target) || quick.1.is_some_and(|q| q < target6);
        if short {
            if seen > deadline {
                return Err(Error::Timeout {
                    what: format!(
                        "the kernel table ({} routes)",
                        both(quick.0.unwrap_or(0), quick.1.unwrap_or(0))
                    ),
                    secs: limit.as_secs(),
                });
            }
            tokio::time::sleep((spent * 3).max(Duration::from_millis(50))).await;
            continue;
        }
        let c = counter.clone();
        let started = Instant::now();
        let (n, n6) = tokio::task::spawn_blocking(move || -> Result<(usize, usize)> {
            let n6 = if target6 > 0 { c.count6()? } else { 0 };
            Ok((c.count()?, n6))
        })
        .await
        .map_err(|_| Error::Usage("netlink task failed".into()))??;
        if n >= target && n6 >= target6 {
            let at = if quick.0.is_some() && quick.1.is_some() {
                seen
            } else {
                Instant::now()
            };
            return Ok((at, n, n6));
        }
        if Instant::now() > deadline {
            return Err(Error::Timeout {
                what: format!("the kernel table ({} routes)", both(n, n6)),
                secs: limit.as_secs(),
            });
        }
        // Poll no more than half the time, so the dumps cost the daemon
        // little CPU.
        let spent = started.elapsed();
        tokio::time::sleep(spent.max(Duration::from_millis(100))).await;
    }
}

async fn measure(plan: &Plan<'_>, listening: Option<Monitor>) -> Result<RunResult> {
    let n = plan.workload.family_count(Family::IPV4_UNICAST);
    let n6 = plan.workload.family_count(Family::IPV6_UNICAST);
    let dual = plan.workload.dual_stack();
    let mut result = RunResult::default();
    let monitor = match (listening, plan.monitor_from) {
        (Some(m), _) => m,
        (None, Some(from)) => {
            let me = Identity {
                asn: MONITOR_AS,
                router_id: from,
                graceful_restart: true,
                ipv6: dual,
            };
            Monitor::connect(from, plan.remote, &me, Duration::from_secs(30)).await?
        }
        (None, None) => return Err(Error::Usage("no monitor".into())),
    };
    if plan.monitor_from.is_some() {
        // The daemon's (empty) initial table ends with End-of-RIB; a daemon
        // that sends none (GoBGP) gets 5 s.
        result.dut_end_of_rib = monitor
            .wait_for("End-of-RIB from the daemon", Duration::from_secs(5), |c| {
                c.end_of_rib
            })
            .await
            .is_ok();
        if !result.dut_end_of_rib {
            speaker::tracing_lite("no End-of-RIB from the daemon; starting anyway");
        }
    }
    let _stalled = match (plan.stalled_from, plan.scenario.stalled) {
        (Some(from), Some(refreshes)) => {
            let me = Identity {
                asn: STALLED_AS,
                router_id: from,
                graceful_restart: false,
                ipv6: dual,
            };
            let session = speaker::connect(from, plan.remote, &me, Duration::from_secs(30)).await?;
            Some(Stalled::start(session, refreshes))
        }
        _ => None,
    };
    let bfd = if plan.scenario.bfd {
        let SocketAddr::V4(remote) = plan.remote else {
            return Err(Error::Usage("BFD needs an IPv4 daemon address".into()));
        };
        let interval = Duration::from_millis(u64::from(BFD_INTERVAL_MS));
        let config = bfd::SessionConfig {
            desired_min_tx: interval,
            required_min_rx: interval,
            detect_mult: BFD_MULTIPLIER,
            ..bfd::SessionConfig::default()
        };
        Some(BfdSpeakers::start(*remote.ip(), &plan.locals, config)?)
    } else {
        None
    };
    let cpu0 = ProcStat::sum(&plan.pids).map(|s| s.cpu_secs);
    let t0 = Instant::now();
    let fib_task = plan
        .fib
        .clone()
        .map(|c| tokio::spawn(wait_fib(c, n, n6, plan.timeout)));
    let mut starting = Vec::with_capacity(plan.workload.feeders.len());
    let count = u32::try_from(plan.workload.feeders.len())
        .unwrap_or(u32::MAX)
        .max(1);
    for (i, (load, &local)) in (0u32..).zip(plan.workload.feeders.iter().zip(&plan.locals)) {
        let delay = plan.scenario.spread * i / count;
        let me = Identity {
            asn: load.asn,
            router_id: load.addr,
            graceful_restart: false,
            ipv6: load.addr6.is_some(),
        };
        let remote = plan.remote;
        starting.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            speaker::connect(local, remote, &me, Duration::from_secs(60)).await
        }));
    }
    let mut feeders: Vec<Feeder> = Vec::with_capacity(starting.len());
    for (h, load) in starting.into_iter().zip(&plan.workload.feeders) {
        let session = tokio::time::timeout(plan.timeout, h)
            .await
            .map_err(|_| Error::Timeout {
                what: "feeder sessions".into(),
                secs: plan.timeout.as_secs(),
            })?
            .map_err(|_| Error::Usage("feeder task failed".into()))??;
        feeders.push(Feeder::start(session, load)?);
    }
    let last_up = feeders.iter().map(|f| f.established).max().unwrap_or(t0);
    result.established = last_up.saturating_duration_since(t0);
    let done = monitor
        .wait_for("all prefixes at the monitor", plan.timeout, |c| {
            c.holds(n, n6)
        })
        .await?;
    result.converged = done - t0;
    let counts = monitor.counter.now();
    result.at_monitor = (counts.prefixes, counts.prefixes6);
    if let Some(task) = fib_task {
        let (at, k, k6) = task
            .await
            .map_err(|_| Error::Usage("FIB task failed".into()))??;
        result.fib = Some(at.saturating_duration_since(t0));
        result.in_kernel = Some((k, k6));
    }
    if plan.scenario.churn {
        churn(plan, &feeders, &monitor, &mut result).await?;
    }
    if let Some(over) = plan.scenario.flap {
        let at = flap::Endpoints {
            remote: plan.remote,
            locals: &plan.locals,
        };
        let (run, second) =
            flap::rolling_restart(feeders, plan.workload, &at, &monitor, over, plan.timeout)
                .await?;
        result.flap = Some(run);
        feeders = second;
    }
    if bfd.is_some() || !plan.scenario.hold.is_zero() {
        let probes = Probes {
            ctl: plan.ctl.clone(),
            metrics: plan.metrics,
            pids: plan.pids.clone(),
        };
        let (held, bfd_run) = hold::run(
            &probes,
            &feeders,
            bfd.as_ref(),
            t0,
            plan.scenario.hold,
            plan.timeout,
        )
        .await?;
        result.hold_cpu_secs = held.cpu_secs;
        result.hold_rss_kib = held.rss_kib;
        result.harness_hold_cpu_secs = held.harness_cpu_secs;
        result.feeders_lost = Some(held.feeders_lost);
        result.bfd = bfd_run;
    }
    tokio::time::sleep(plan.scenario.linger).await;
    if let (Some(c0), Some(end)) = (cpu0, ProcStat::sum(&plan.pids)) {
        result.cpu_secs = Some(end.cpu_secs - c0);
        result.peak_rss_kib = Some(end.peak_rss_kib);
    }
    Ok(result)
}

/// Withdraws every tenth prefix of every feeder, waits for the monitor to
/// drop them, announces them again and waits for the monitor to hold all.
async fn churn(
    plan: &Plan<'_>,
    feeders: &[Feeder],
    monitor: &Monitor,
    result: &mut RunResult,
) -> Result<()> {
    // Both families together: churn withdraws every tenth prefix of each
    // feeder, whichever family it is.
    let n = plan.workload.prefix_count();
    let mut chosen = Vec::new();
    let mut withdrawals = Vec::new();
    let mut announcements = Vec::new();
    for load in &plan.workload.feeders {
        let c = load.every_nth(10);
        withdrawals.push(load.encode_withdraw(&c)?);
        announcements.push(load.encode_reannounce(&c)?);
        chosen.push(c);
    }
    let gone: usize = chosen.iter().map(Vec::len).sum();
    // Let every feeder finish its initial table first.
    for f in feeders {
        let mut sent = f.sent.clone();
        let _ = sent.wait_for(|s| *s).await;
    }
    let t1 = Instant::now();
    for (f, w) in feeders.iter().zip(withdrawals) {
        f.send(w);
    }
    let at = monitor
        .wait_for("the withdrawals at the monitor", plan.timeout, |c| {
            c.total() <= n - gone
        })
        .await?;
    result.withdraw = Some(at - t1);
    let t2 = Instant::now();
    for (f, a) in feeders.iter().zip(announcements) {
        f.send(a);
    }
    let at = monitor
        .wait_for("the re-announcements at the monitor", plan.timeout, |c| {
            c.total() >= n
        })
        .await?;
    result.reannounce = Some(at - t2);
    Ok(())
}
