//! `bench`: runs a scenario against rbgpd, BIRD 2, GoBGP and FRR in turn
//! (and the null sink) and prints a Markdown table of medians.
//!
//! `cargo run --release -p bench -- --scenario A --daemons rbgpd,bird,gobgp,frr --runs 3`
//!
//! BFD on every session, against the same without, alternating (rbgpd):
//! `bench --scenario D --daemons rbgpd --bfd both --hold 60 --runs 3`
//!
//! A rolling restart of 1,000 sessions, the closes spread over 2 s:
//! `bench --scenario D --daemons rbgpd --flap 2 --runs 3`
//!
//! Dual stack, a fiftieth of F (20,000 IPv4 + 5,000 IPv6 prefixes), with
//! the daemons writing the kernel: `bench --scenario F --prefixes 20000
//! --fib --daemons rbgpd,bird --runs 1`

use bench::daemons::Daemon;
use bench::report::{self, Row};
use bench::scenario::{self, Options, Scenario};
use bench::{netns, Error, Result};
use clap::{Parser, ValueEnum};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Side-by-side BGP daemon benchmark (rbgpd, BIRD 2, GoBGP, FRR)"
)]
struct Args {
    /// Scenarios to run, comma separated: A (100k prefixes, 1 peer),
    /// B (1M, 1 peer), C (1M over 6 peers), D (1,000 sessions x 4
    /// prefixes), E (A then withdraw and re-announce 10 %), F (dual
    /// stack: 1M IPv4 + 250k IPv6 prefixes over 2 peers, each session
    /// carrying both families).
    #[arg(long, value_delimiter = ',', default_value = "A")]
    scenario: Vec<String>,
    /// Targets, comma separated: null (the harness against itself),
    /// ip-batch (FIB mode: `ip -batch` adding the same routes), rbgpd,
    /// bird, gobgp, frr.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "null,rbgpd,bird,gobgp,frr"
    )]
    daemons: Vec<String>,
    /// Runs per target (the table shows medians).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// FIB mode: the daemons also write the routes into the kernel.
    #[arg(long)]
    fib: bool,
    /// Override the scenario's IPv4 prefix count; a dual-stack scenario's
    /// IPv6 count scales with it (F: a quarter of it, so `--prefixes
    /// 20000` is 20,000 IPv4 + 5,000 IPv6).
    #[arg(long)]
    prefixes: Option<usize>,
    /// Override the IPv6 prefix count (after --prefixes): any scenario
    /// with IPv6 prefixes runs dual stack, 0 makes F IPv4 only.
    #[arg(long)]
    prefixes6: Option<usize>,
    /// Override the scenario's feeder count.
    #[arg(long)]
    feeders: Option<usize>,
    /// Spread the feeders' connects evenly over this many seconds (D as
    /// a cluster whose nodes come up one by one; BIRD's listen backlog
    /// needs it).
    #[arg(long, default_value_t = 0.0)]
    spread: f64,
    /// Add a peer that connects before the clock starts, never reads, and
    /// sends this many ROUTE-REFRESHes (and a KEEPALIVE) every second: the
    /// daemon's output to it piles up (the memory bound on a slow peer).
    #[arg(long)]
    stalled: Option<usize>,
    /// Seconds to wait after the measurement before reading the daemon's
    /// peak RSS and CPU (with --stalled: its cost over time).
    #[arg(long, default_value_t = 0)]
    linger: u64,
    /// BFD on every feeder session (rbgpd only, 300 ms x 3): off, on, or
    /// both (each run without, then with, in alternation; two rows).
    #[arg(long, value_enum, default_value_t = BfdMode::Off)]
    bfd: BfdMode,
    /// After convergence, once BFD is Up and BGP is quiet, hold this many
    /// seconds and measure the daemon's CPU and BFD's Downs over them.
    #[arg(long, default_value_t = 0)]
    hold: u64,
    /// After convergence, a rolling restart: every feeder's session closes
    /// and connects again, the closes spread evenly over this many seconds
    /// (0: all at once); measures until the monitor holds every prefix
    /// from the second sessions.
    #[arg(long)]
    flap: Option<f64>,
    /// Seed of the generated table.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Limit for each phase of a run, seconds.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
    /// The rbgpd binary (default: next to this binary).
    #[arg(long)]
    rbgpd: Option<PathBuf>,
    /// Directory for run configs and logs (default /tmp/rbbench-PID).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Keep the work directory (it is removed when every run succeeded).
    #[arg(long)]
    keep: bool,
    /// Profile each daemon with `perf record -e cpu-clock -g` into its
    /// run directory (implies --keep; perf's overhead skews the numbers).
    #[arg(long)]
    perf: bool,
    /// Samples per second for --perf (more samples, more skew).
    #[arg(long, default_value_t = 499, value_parser = clap::value_parser!(u32).range(1..=20000))]
    perf_freq: u32,
}

/// Whether the runs have BFD (`--bfd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BfdMode {
    Off,
    On,
    Both,
}

impl BfdMode {
    /// The variants of each run: without BFD, with it, or both in turn.
    fn variants(self) -> &'static [bool] {
        match self {
            BfdMode::Off => &[false],
            BfdMode::On => &[true],
            BfdMode::Both => &[false, true],
        }
    }
}

/// A target of the runs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    Null,
    /// FIB mode's yardstick: `ip -batch` installing the same routes.
    IpBatch,
    Daemon(Daemon),
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Null => "null-sink",
            Target::IpBatch => "ip-batch",
            Target::Daemon(d) => d.name(),
        }
    }
}

fn main() {
    match real_main() {
        Ok(()) => {}
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(1);
        }
    }
}

fn machine_info(targets: &[Target], rbgpd: &std::path::Path) -> String {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "?".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let nproc = std::thread::available_parallelism().map_or(0, usize::from);
    let mut s = format!(
        "machine: nproc {nproc}, {cpu}, kernel {}, {}\n",
        kernel.trim(),
        mem.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    for t in targets {
        if let Target::Daemon(d) = t {
            s.push_str(&format!("{}: {}\n", d.name(), d.version(rbgpd)));
        }
    }
    s
}

fn real_main() -> Result<()> {
    let args = Args::parse();
    let mut targets = Vec::new();
    for name in &args.daemons {
        let t = match name.as_str() {
            "null" | "null-sink" => Target::Null,
            "ip-batch" => Target::IpBatch,
            other => Target::Daemon(
                Daemon::parse(other)
                    .ok_or_else(|| Error::Usage(format!("unknown daemon {other:?}")))?,
            ),
        };
        targets.push(t);
    }
    let needs_root = targets
        .iter()
        .any(|t| matches!(t, Target::Daemon(_) | Target::IpBatch));
    if needs_root && !testbed::is_root() {
        return Err(Error::Usage(
            "running daemons needs root (network namespaces)".into(),
        ));
    }
    netns::raise_nofile();
    netns::remove_stale();
    netns::cleanup_on_signal();
    let rbgpd = match &args.rbgpd {
        Some(p) => p.clone(),
        None => std::env::current_exe()
            .map_err(|e| Error::io("current_exe", e))?
            .with_file_name("rbgpd"),
    };
    let work_dir = args
        .work_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("/tmp/rbbench-{}", std::process::id())));
    let opts = Options {
        timeout: Duration::from_secs(args.timeout),
        rbgpd: rbgpd.clone(),
        work_dir: work_dir.clone(),
        perf: args.perf.then_some(args.perf_freq),
    };
    println!("{}", machine_info(&targets, &rbgpd));
    let mut all_ok = true;
    for name in &args.scenario {
        let mut sc = Scenario::by_name(name, args.fib)?;
        if let Some(p) = args.prefixes {
            sc.scale_prefixes(p);
        }
        if let Some(p) = args.prefixes6 {
            sc.prefixes6 = p;
        }
        if let Some(f) = args.feeders {
            sc.feeders = f.max(1);
        }
        sc.stalled = args.stalled;
        sc.linger = Duration::from_secs(args.linger);
        sc.spread = Duration::try_from_secs_f64(args.spread)
            .map_err(|_| Error::Usage(format!("--spread {}: not a duration", args.spread)))?;
        sc.hold = Duration::from_secs(args.hold);
        sc.flap = args
            .flap
            .map(|f| {
                Duration::try_from_secs_f64(f)
                    .map_err(|_| Error::Usage(format!("--flap {f}: not a duration")))
            })
            .transpose()?;
        let t = Instant::now();
        let wl = sc.workload(args.seed)?;
        eprintln!(
            "scenario {}: {} from {} feeder(s), {} UPDATEs, {:.1} MB, generated in {:.2} s",
            sc.label(),
            wl.describe(),
            wl.feeders.len(),
            wl.messages(),
            wl.bytes() as f64 / 1e6,
            t.elapsed().as_secs_f64()
        );
        let mut rows = Vec::new();
        for &target in &targets {
            if let Target::Daemon(d) = target {
                if sc.fib && !d.supports_fib() {
                    eprintln!("  {}: skipped (no FIB of its own)", d.name());
                    continue;
                }
            }
            if target == Target::IpBatch && !sc.fib {
                eprintln!("  ip-batch: skipped (FIB mode only, --fib)");
                continue;
            }
            // BFD is set up for rbgpd only.
            let variants: &[bool] = match target {
                Target::Daemon(Daemon::Rbgpd) => args.bfd.variants(),
                _ => {
                    if args.bfd != BfdMode::Off {
                        eprintln!("  {}: without BFD (BFD runs are rbgpd's)", target.name());
                    }
                    &[false]
                }
            };
            let mut variant_rows: Vec<Row> = variants
                .iter()
                .map(|&bfd| Row {
                    target: format!("{}{}", target.name(), if bfd { "+bfd" } else { "" }),
                    ..Row::default()
                })
                .collect();
            for run in 0..args.runs {
                for (row, &bfd) in variant_rows.iter_mut().zip(variants) {
                    let mut sc = sc.clone();
                    sc.bfd = bfd;
                    let r = match target {
                        Target::Null => scenario::run_null(&sc, &wl, opts.timeout),
                        Target::IpBatch => scenario::run_ip_batch(&sc, &wl, run),
                        Target::Daemon(d) => scenario::run_daemon(d, &sc, &wl, &opts, run),
                    };
                    match r {
                        Ok(r) => {
                            eprintln!("  {} run {}: {r:?}", row.target, run + 1);
                            row.runs.push(r);
                        }
                        Err(e) => {
                            eprintln!("  {} run {}: FAILED: {e}", row.target, run + 1);
                            all_ok = false;
                            row.failures.push(e.to_string());
                        }
                    }
                }
            }
            rows.extend(variant_rows);
        }
        println!(
            "### Scenario {}: {}, {} feeder(s), {} UPDATEs ({:.1} MB), medians of {} run(s)\n",
            sc.label(),
            wl.describe(),
            wl.feeders.len(),
            wl.messages(),
            wl.bytes() as f64 / 1e6,
            args.runs
        );
        println!("{}", report::table(&rows));
    }
    if all_ok && !args.keep && !args.perf {
        let _ = std::fs::remove_dir_all(&work_dir);
    } else if work_dir.exists() {
        eprintln!("configs and logs kept in {}", work_dir.display());
    }
    Ok(())
}
