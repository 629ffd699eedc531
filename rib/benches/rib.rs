//! RIB benchmarks: 1,000,000 IPv4 prefixes from one peer, the same from a
//! second peer with a better path (every best path changes), withdrawing
//! them, and the full export to a third peer. Before the timed runs it
//! prints the heap bytes per route, measured with a counting global
//! allocator.
//!
//! Run: `cargo bench -p rib --bench rib` (about two minutes on 2 cores).
//! Smaller run: `RIB_BENCH_PREFIXES=100000 cargo bench -p rib --bench rib`.
//! Only the memory and CPU-time report: `RIB_BENCH_REPORT_ONLY=1`.
//!
//! On a shared machine wall-clock times (criterion's) grow with the load;
//! the report also gives CPU time of this thread per operation, read from
//! /proc/thread-self/stat, which does not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bgp_proto::msg::attributes::{AsPath, Community, Origin, PathAttributes};
use bgp_proto::types::{Family, Ipv4Prefix, Nlri, Prefix};
use criterion::{criterion_group, BatchSize, Criterion, SamplingMode, Throughput};
use rib::policy::PolicyRef;
use rib::{PeerInfo, Rib, RibConfig};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

/// Counts live heap bytes and the peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

fn grow(n: usize) {
    ALLOCS.fetch_add(1, Relaxed);
    let now = LIVE.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(now, Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            grow(l.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            grow(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            LIVE.fetch_sub(l.size(), Relaxed);
            grow(new);
        }
        q
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// CPU time (user + system) of this thread in seconds, 10 ms resolution.
fn thread_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the ")" closing the command name: state is field 3,
    // utime 14 and stime 15 (1-based), in clock ticks of 1/100 s.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    f.iter().sum::<u64>() as f64 / 100.0
}

/// Resident set size of the process in bytes (0 if unknown).
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn prefixes() -> u32 {
    std::env::var("RIB_BENCH_PREFIXES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn config() -> RibConfig {
    RibConfig {
        local_as: 65000,
        router_id: Ipv4Addr::new(172, 18, 0, 5),
        max_paths: 8,
        multipath_relax: false,
        always_compare_med: false,
        cluster_id: None,
        policies: Vec::new(),
        prefix_lists: Vec::new(),
    }
}

fn peer(id: u32, asn: u32) -> PeerInfo {
    PeerInfo {
        id,
        addr: IpAddr::V4(Ipv4Addr::new(172, 18, 0, u8::try_from(id).unwrap())),
        remote_as: asn,
        router_id: Ipv4Addr::new(172, 18, 0, u8::try_from(id).unwrap()),
        local_v4: Some(Ipv4Addr::new(172, 18, 0, 5)),
        local_v6: None,
        import: PolicyRef::All,
        export: PolicyRef::All,
        next_hop_unchanged: false,
        enforce_first_as: false,
        families: vec![Family::IPV4_UNICAST],
        extended_next_hop: false,
        route_reflector_client: false,
        default_originate: false,
        add_path_send: Vec::new(),
        add_path_max: 0,
        fib_table: 0,
        sender_as_loop_check: false,
    }
}

/// The `i`-th /24 from 16.0.0.0 on.
fn prefix(i: u32) -> Nlri {
    let addr = Ipv4Addr::from(0x1000_0000u32.wrapping_add(i << 8));
    Nlri::new(Prefix::V4(Ipv4Prefix::new(addr, 24).unwrap()))
}

/// UPDATE number `k` of a table with `per_update` prefixes per attribute
/// set, as peer 1 (AS 65100, 4-AS path) or peer 2 (AS 65200, 2-AS path:
/// better) sends it. Every UPDATE has its own AS path, so a table with 4
/// prefixes per UPDATE has 250,000 distinct attribute sets, roughly what
/// a full Internet table from one peer has.
fn update(k: u32, per_update: u32, total: u32, second: bool) -> (Vec<Nlri>, PathAttributes) {
    let start = k * per_update;
    let nlri = (start..(start + per_update).min(total))
        .map(prefix)
        .collect();
    let path = if second {
        vec![65200, 100_000 + k]
    } else {
        vec![65100, 3356, 1299, 100_000 + k]
    };
    let attrs = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: AsPath::from_sequence(path),
        med: Some(k % 3),
        communities: vec![Community((3356 << 16) | (k % 20))],
        ..PathAttributes::default()
    };
    (nlri, attrs)
}

fn updates(per_update: u32, second: bool) -> Vec<(Vec<Nlri>, PathAttributes)> {
    let total = prefixes();
    (0..total.div_ceil(per_update))
        .map(|k| update(k, per_update, total, second))
        .collect()
}

/// Drains the exports of peers 1 and 2 (when up), as the core does after
/// each input: nothing for a peer's own routes; when peer 2's better paths
/// take over, peer 1 is sent them (and its Adj-RIB-Out fills).
fn drain_all(rib: &mut Rib) {
    for id in [1, 2] {
        if rib.peer_up(id) {
            black_box(rib.drain_exports(id).unwrap());
        }
    }
    rib.end_export_round();
}

/// Feeds a table into `rib` as peer `id`, draining FIB changes and exports
/// after each UPDATE as the daemon core does.
fn feed(rib: &mut Rib, id: u32, table: Vec<(Vec<Nlri>, PathAttributes)>) -> usize {
    let nh = IpAddr::V4(Ipv4Addr::new(172, 18, 0, u8::try_from(id).unwrap()));
    let mut fib = 0;
    for (nlri, attrs) in table {
        rib.update(id, nlri, nh, attrs).unwrap();
        fib += rib.drain_fib_changes().len();
        drain_all(rib);
    }
    fib
}

fn loaded(per_update: u32) -> Rib {
    let mut rib = Rib::new(config()).unwrap();
    rib.add_peer(peer(1, 65100)).unwrap();
    rib.add_peer(peer(2, 65200)).unwrap();
    feed(&mut rib, 1, updates(per_update, false));
    rib
}

/// Heap bytes per route for a few table shapes, printed once.
fn memory_report() {
    let n = prefixes();
    println!("memory ({n} IPv4 /24 prefixes, counting allocator, live heap bytes):");
    for per_update in [4u32, 1000] {
        let base = LIVE.load(Relaxed);
        let rss_base = rss();
        PEAK.store(base, Relaxed);
        let mut rib = Rib::new(config()).unwrap();
        rib.add_peer(peer(1, 65100)).unwrap();
        let nh = IpAddr::V4(Ipv4Addr::new(172, 18, 0, 1));
        let cpu = thread_cpu();
        let allocs = ALLOCS.load(Relaxed);
        for k in 0..n.div_ceil(per_update) {
            let (nlri, attrs) = update(k, per_update, n, false);
            rib.update(1, nlri, nh, attrs).unwrap();
            rib.drain_fib_changes();
            drain_all(&mut rib);
        }
        let insert_ns = (thread_cpu() - cpu) * 1e9 / f64::from(n);
        let insert_allocs = (ALLOCS.load(Relaxed) - allocs) as f64 / f64::from(n);
        let one = LIVE.load(Relaxed) - base;
        let rss_one = rss().saturating_sub(rss_base);
        let peak = PEAK.load(Relaxed) - base;
        let s = rib.stats();
        println!(
            "  1 peer, {per_update} prefixes per attribute set ({} sets): {:.1} bytes/route \
             (peak {:.1}; table estimate {:.1}; RSS growth {:.1})",
            s.attr_sets,
            one as f64 / f64::from(n),
            peak as f64 / f64::from(n),
            s.table_bytes as f64 / f64::from(n),
            rss_one as f64 / f64::from(n),
        );
        rib.add_peer(peer(2, 65200)).unwrap();
        let nh2 = IpAddr::V4(Ipv4Addr::new(172, 18, 0, 2));
        let cpu = thread_cpu();
        let allocs = ALLOCS.load(Relaxed);
        for k in 0..n.div_ceil(per_update) {
            let (nlri, attrs) = update(k, per_update, n, true);
            rib.update(2, nlri, nh2, attrs).unwrap();
            rib.drain_fib_changes();
            drain_all(&mut rib);
        }
        let second_ns = (thread_cpu() - cpu) * 1e9 / f64::from(n);
        let second_allocs = (ALLOCS.load(Relaxed) - allocs) as f64 / f64::from(n);
        let two = LIVE.load(Relaxed) - base;
        println!(
            "  2 peers (second one best; with peer 1's Adj-RIB-Out of them): \
             {:.1} bytes/prefix, {:.1} bytes/path",
            two as f64 / f64::from(n),
            two as f64 / f64::from(2 * n)
        );
        rib.add_peer(peer(3, 65300)).unwrap();
        let cpu = thread_cpu();
        drop(rib.full_export(3).unwrap());
        rib.end_export_round();
        let export_ns = (thread_cpu() - cpu) * 1e9 / f64::from(n);
        let out = LIVE.load(Relaxed) - base;
        println!(
            "  + Adj-RIB-Out of one exporting peer: {:.1} bytes/route more",
            (out - two) as f64 / f64::from(n)
        );
        let cpu = thread_cpu();
        for i in (0..n).step_by(100) {
            rib.withdraw(2, (i..(i + 100).min(n)).map(prefix)).unwrap();
            rib.drain_fib_changes();
            drain_all(&mut rib);
        }
        let withdraw_ns = (thread_cpu() - cpu) * 1e9 / f64::from(n);
        println!(
            "  CPU ns/prefix: insert {insert_ns:.0}, second peer {second_ns:.0}, \
             full export {export_ns:.0}, withdraw best (fallback to first peer) {withdraw_ns:.0}"
        );
        println!(
            "  allocations/prefix (bench data included): insert {insert_allocs:.1}, \
             second peer {second_allocs:.1}"
        );
        drop(rib);
        let left = LIVE.load(Relaxed).saturating_sub(base);
        assert!(left < 1 << 20, "{left} bytes left after drop");
    }
}

fn benches(c: &mut Criterion) {
    let n = u64::from(prefixes());
    let mut g = c.benchmark_group("rib");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(n));

    g.bench_function("insert_1m_one_peer", |b| {
        b.iter_batched(
            || {
                let mut rib = Rib::new(config()).unwrap();
                rib.add_peer(peer(1, 65100)).unwrap();
                (rib, updates(4, false))
            },
            |(mut rib, table)| {
                black_box(feed(&mut rib, 1, table));
                rib
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("insert_1m_second_peer_best_changes", |b| {
        b.iter_batched(
            || (loaded(4), updates(4, true)),
            |(mut rib, table)| {
                black_box(feed(&mut rib, 2, table));
                rib
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("withdraw_1m", |b| {
        b.iter_batched(
            || (loaded(4), (0..prefixes()).map(prefix).collect::<Vec<_>>()),
            |(mut rib, all)| {
                for chunk in all.chunks(100) {
                    rib.withdraw(1, chunk.iter().copied()).unwrap();
                    black_box(rib.drain_fib_changes());
                    drain_all(&mut rib);
                }
                rib
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("full_export_1m", |b| {
        b.iter_batched(
            || {
                let mut rib = loaded(4);
                rib.add_peer(peer(3, 65300)).unwrap();
                rib
            },
            |mut rib| {
                black_box(rib.full_export(3).unwrap());
                rib
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(rib_benches, benches);

fn main() {
    // `cargo test --benches` runs this with --test-ish flags: keep it quick.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    memory_report();
    if std::env::var_os("RIB_BENCH_REPORT_ONLY").is_some() {
        return;
    }
    rib_benches();
    Criterion::default().configure_from_args().final_summary();
}
