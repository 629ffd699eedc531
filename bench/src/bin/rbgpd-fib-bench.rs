//! rbgpd-fib-bench: how fast the netlink FIB writes a big table, against
//! `ip -batch` writing the same routes, in a fresh network namespace.
//!
//! ```text
//! rbgpd-fib-bench [--routes 1000000] [--ecmp 10000] [--paths 3] [--rounds 1]
//! ```
//! Needs root. Creates `rbfbench-<pid>` with a veth pair (10.200.0.1/16),
//! and deletes it at the end (also on error).

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bgp_proto::Prefix;
use bgpd::config::FibConfig;
use bgpd::fib::{FibChange, FibManager, NetlinkFib, NetlinkOptions};
use clap::Parser;
use testbed::{Netns, Proc};

#[derive(Parser, Debug, Clone)]
#[command(about = "Benchmark the netlink FIB writer against ip -batch")]
struct Args {
    /// Single-path IPv4 /24 routes.
    #[arg(long, default_value_t = 1_000_000)]
    routes: u32,
    /// ECMP routes.
    #[arg(long, default_value_t = 10_000)]
    ecmp: u32,
    /// Next hops per ECMP route.
    #[arg(long, default_value_t = 3)]
    paths: u8,
    /// Also time BIRD 2 (`protocol static` -> `protocol kernel`), from
    /// start until the kernel holds every route.
    #[arg(long)]
    bird: bool,
    /// Give up on BIRD after this many seconds.
    #[arg(long, default_value_t = 600)]
    bird_timeout: u64,
    /// KiB of netlink requests per sendmsg.
    #[arg(long, default_value_t = 128)]
    chunk_kb: usize,
    /// Skip the ip -batch phase (to compare rbgpd settings only).
    #[arg(long)]
    no_ip: bool,
    /// Write routes with their gateways, not as kernel nexthop objects.
    #[arg(long)]
    no_nexthop_objects: bool,
    /// Rounds (each: rbgpd add, rbgpd delete, ip add, ip delete).
    #[arg(long, default_value_t = 1)]
    rounds: u32,
}

fn gw(i: u32) -> Ipv4Addr {
    Ipv4Addr::new(10, 200, 0, u8::try_from(2 + i % 200).unwrap_or(2))
}

/// The table: `routes` /24s from 20.0.0.0, `ecmp` /24s from 60.0.0.0.
fn table(a: &Args) -> Vec<(Prefix, Vec<Ipv4Addr>)> {
    let mut v = Vec::with_capacity((a.routes + a.ecmp) as usize);
    for i in 0..a.routes {
        let addr = Ipv4Addr::from(0x1400_0000u32 + (i << 8));
        v.extend(Prefix::new(IpAddr::V4(addr), 24).map(|p| (p, vec![gw(i)])));
    }
    for i in 0..a.ecmp {
        let addr = Ipv4Addr::from(0x3c00_0000u32 + (i << 8));
        let nhs = (0..u32::from(a.paths)).map(|k| gw(i + k)).collect();
        v.extend(Prefix::new(IpAddr::V4(addr), 24).map(|p| (p, nhs)));
    }
    v
}

/// Routes of protocol `proto` in the namespace's main table.
fn count_proto(ns: &Netns, proto: &str) -> Result<usize> {
    let out = ns.ip(&["route", "show", "proto", proto])?;
    // ECMP next hops are continuation lines starting with a tab.
    Ok(out
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('\t'))
        .count())
}

fn count_routes(ns: &Netns) -> Result<usize> {
    count_proto(ns, "bgp")
}

/// Adds then deletes the table through FibManager + NetlinkFib, inside `ns`.
fn rbgpd_round(
    ns: &Netns,
    routes: Vec<(Prefix, Vec<Ipv4Addr>)>,
    chunk_kb: usize,
    nexthop_objects: bool,
) -> Result<(Duration, Duration)> {
    // The thread creates the runtime and the socket inside the namespace.
    ns.run(move || -> Result<(Duration, Duration)> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let cfg = FibConfig {
                persist: false,
                max_paths: 16,
                nexthop_objects,
                ..FibConfig::default()
            };
            let opts = NetlinkOptions {
                chunk_bytes: chunk_kb * 1024,
                ..NetlinkOptions::from_config(&cfg)
            };
            let fib = NetlinkFib::new(opts)?;
            let mut m = FibManager::new(fib, &cfg);
            m.start().await?;
            m.startup_complete().await?;
            let adds: Vec<FibChange> = routes
                .iter()
                .map(|(p, nhs)| {
                    FibChange::announce(*p, nhs.iter().map(|a| IpAddr::V4(*a)).collect())
                })
                .collect();
            let dels: Vec<FibChange> = routes
                .iter()
                .map(|(p, _)| FibChange::withdraw(*p))
                .collect();
            let t = Instant::now();
            m.update(&adds).await?;
            let add = t.elapsed();
            let st = m.status();
            if st.installed != routes.len() {
                bail!(
                    "only {} of {} routes installed ({} errors)",
                    st.installed,
                    routes.len(),
                    st.errors
                );
            }
            let objects = m.fib().nexthop_objects();
            let t = Instant::now();
            m.update(&dels).await?;
            let del = t.elapsed();
            println!(
                "  nexthop objects: {} with the table, {} after the delete",
                objects.map_or("off".into(), |n| n.to_string()),
                m.fib()
                    .nexthop_objects()
                    .map_or("off".into(), |n| n.to_string()),
            );
            Ok((add, del))
        })
    })?
}

/// Adds the table with one `ip -batch`, then deletes it with another;
/// returns both times.
fn ip_round(ns: &Netns, routes: &[(Prefix, Vec<Ipv4Addr>)]) -> Result<(Duration, Duration)> {
    let add_file = std::env::temp_dir().join(format!("rbfbench-{}.add", std::process::id()));
    let del_file = std::env::temp_dir().join(format!("rbfbench-{}.del", std::process::id()));
    let mut add = std::io::BufWriter::new(std::fs::File::create(&add_file)?);
    let mut del = std::io::BufWriter::new(std::fs::File::create(&del_file)?);
    for (p, nhs) in routes {
        writeln!(del, "route del {p} proto bgp metric 32")?;
        match nhs.as_slice() {
            [one] => writeln!(add, "route add {p} via {one} proto bgp metric 32")?,
            many => {
                write!(add, "route add {p} proto bgp metric 32")?;
                for nh in many {
                    write!(add, " nexthop via {nh}")?;
                }
                writeln!(add)?;
            }
        }
    }
    add.flush()?;
    del.flush()?;
    drop((add, del));
    let run = |file: &std::path::Path| -> Result<Duration> {
        let t = Instant::now();
        let r = ns.ip(&["-batch", &file.to_string_lossy()]);
        let took = t.elapsed();
        let _ = std::fs::remove_file(file);
        r.map(|_| took).map_err(Into::into)
    };
    let add = run(&add_file)?;
    let n = count_routes(ns)?;
    if n != routes.len() {
        bail!("ip -batch installed {n} of {} routes", routes.len());
    }
    let del = run(&del_file)?;
    let left = count_routes(ns)?;
    if left != 0 {
        bail!("{left} routes left after ip -batch route del");
    }
    Ok((add, del))
}

/// Starts BIRD 2 in `ns` exporting `routes` from `protocol static`; returns
/// the time until all of them are in the kernel, or `None` on timeout.
fn bird_round(
    ns: &Netns,
    routes: &[(Prefix, Vec<Ipv4Addr>)],
    limit: u64,
) -> Result<Option<Duration>> {
    let dir = std::env::temp_dir().join(format!("rbfbench-bird-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let conf = dir.join("bird.conf");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&conf)?);
    writeln!(w, "router id 10.200.0.1;\nprotocol device {{}}")?;
    writeln!(
        w,
        "protocol kernel {{ ipv4 {{ import none; export all; }}; metric 32; }}"
    )?;
    writeln!(w, "protocol static {{ ipv4;")?;
    for (p, nhs) in routes {
        write!(w, "route {p}")?;
        for nh in nhs {
            write!(w, " via {nh}")?;
        }
        writeln!(w, ";")?;
    }
    writeln!(w, "}}")?;
    w.flush()?;
    drop(w);
    let path = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let t = Instant::now();
    // In the foreground, so that it is our child, stopped by PID.
    let mut bird = Proc::spawn_in(
        ns,
        "bird",
        "bird",
        &[
            "-f",
            "-c",
            &path("bird.conf"),
            "-s",
            &path("bird.ctl"),
            "-P",
            &path("bird.pid"),
        ],
        &dir.join("bird.log"),
    )?;
    let mut done = None;
    while t.elapsed() < Duration::from_secs(limit) {
        std::thread::sleep(Duration::from_millis(500));
        bird.check_running()?;
        if count_proto(ns, "bird")? == routes.len() {
            done = Some(t.elapsed());
            break;
        }
    }
    let _ = bird.signal(libc::SIGTERM);
    std::thread::sleep(Duration::from_secs(1));
    let _ = std::fs::remove_dir_all(&dir);
    // BIRD without `persist` removes its routes on exit; make sure.
    while count_proto(ns, "bird")? != 0 && t.elapsed() < Duration::from_secs(limit + 120) {
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(bird);
    Ok(done)
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(why) = testbed::netns_unavailable() {
        bail!("cannot create a network namespace: {why}");
    }
    let ns = Netns::create(&format!("rbfbench-{}", std::process::id()))?;
    ns.veth_pair("rbfbench0", "rbfbench1")?;
    ns.add_addr("rbfbench0", "10.200.0.1/16")?;
    ns.link_up("rbfbench0")?;
    ns.link_up("rbfbench1")?;
    let routes = table(&args);
    println!(
        "table: {} single-path + {} ECMP x{} IPv4 routes = {}",
        args.routes,
        args.ecmp,
        args.paths,
        routes.len()
    );
    let rate = |d: Duration| routes.len() as f64 / d.as_secs_f64();
    let line = |what: &str, d: Duration| {
        println!(
            "  {what:<26} {:>8.3} s  {:>9.0} routes/s",
            d.as_secs_f64(),
            rate(d)
        );
    };
    for round in 1..=args.rounds {
        println!("round {round}:");
        let (add, del) = rbgpd_round(&ns, routes.clone(), args.chunk_kb, !args.no_nexthop_objects)
            .context("rbgpd round")?;
        let left = count_routes(&ns)?;
        if left != 0 {
            bail!("{left} routes left after rbgpd delete");
        }
        line("rbgpd NetlinkFib add", add);
        line("rbgpd NetlinkFib delete", del);
        if !args.no_ip {
            let (ip_add, ip_del) = ip_round(&ns, &routes).context("ip round")?;
            line("ip -batch route add", ip_add);
            line("ip -batch route del", ip_del);
            let ratio_add = add.as_secs_f64() / ip_add.as_secs_f64();
            let ratio_del = del.as_secs_f64() / ip_del.as_secs_f64();
            println!("  ratio rbgpd/ip add {ratio_add:>8.3}");
            println!("  ratio rbgpd/ip del {ratio_del:>8.3}");
        }
        if args.bird {
            match bird_round(&ns, &routes, args.bird_timeout).context("bird round")? {
                Some(d) => {
                    line("bird 2 static->kernel", d);
                    let ratio = add.as_secs_f64() / d.as_secs_f64();
                    println!("  ratio rbgpd/bird   {ratio:>8.3}");
                }
                None => println!("  bird 2: not done after {} s, skipped", args.bird_timeout),
            }
        }
    }
    Ok(())
}
