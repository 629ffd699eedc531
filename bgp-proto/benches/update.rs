//! UPDATE codec benchmarks: `cargo bench -p bgp-proto --bench update`.
//!
//! The stream imitates a full-table feed: 2000 UPDATEs on a 4-octet AS
//! session, 1-24 prefixes each (mean ~8), mostly /24 (80 %), AS paths of
//! 1-6 hops, half with 1-4 communities, some with MED. Decoding includes
//! everything a RIB needs: validation, every attribute decoded once per
//! UPDATE and iterating every NLRI. `decode_full` decodes the attributes
//! into the owned `PathAttributes` (`attributes()`), `decode_view` reads
//! every one through the borrowed `attributes_view()` (no allocation).
//! Results are reported per prefix (elements) and in octets of UPDATE
//! bodies. See BENCHMARKS.md (UPDATE codec) for the instruction-count method.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bgp_proto::msg::attributes::{AsPath, Community, MpNextHop, Origin, PathAttributes};
use bgp_proto::wire::update::{encode_body, Update, UpdatePacker};
use bgp_proto::{
    Family, Ipv4Prefix, Ipv6Prefix, MpReach, Nlri, Prefix, SessionContext, UpdateMessage,
};
use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn attrs(r: &mut Rng) -> PathAttributes {
    let hops = 1 + r.below(6) as usize;
    let path: Vec<u32> = (0..hops).map(|_| 64512 + r.below(200_000) as u32).collect();
    let communities = if r.below(2) == 0 {
        (0..1 + r.below(4))
            .map(|_| Community(r.next() as u32))
            .collect()
    } else {
        Vec::new()
    };
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: AsPath::from_sequence(path),
        next_hop: Some(Ipv4Addr::new(172, 18, 0, 2)),
        med: (r.below(4) == 0).then(|| r.below(1000) as u32),
        communities,
        ..Default::default()
    }
}

fn v4_prefix(r: &mut Rng) -> Prefix {
    let len = match r.below(20) {
        0..=15 => 24,
        16 => 22 + r.below(2) as u8,
        17 => 16 + r.below(6) as u8,
        _ => 25 + r.below(8) as u8,
    };
    Prefix::V4(Ipv4Prefix::new(Ipv4Addr::from(r.next() as u32), len).unwrap())
}

/// `dense`: 250 UPDATEs of 30-70 prefixes (a table whose routes share
/// attribute sets, as an eBGP feed from a single origin packs them);
/// otherwise 2000 UPDATEs of 1-24 prefixes.
fn v4_stream(ctx: &SessionContext, dense: bool) -> (Vec<UpdateMessage>, Vec<Bytes>, usize) {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let mut msgs = Vec::new();
    let mut prefixes = 0;
    for _ in 0..if dense { 250 } else { 2000 } {
        let k = if dense {
            30 + r.below(41) as usize
        } else {
            1 + r.below(4) as usize * r.below(7) as usize + r.below(3) as usize
        };
        let nlri: Vec<Nlri> = (0..k).map(|_| Nlri::new(v4_prefix(&mut r))).collect();
        prefixes += nlri.len();
        msgs.push(UpdateMessage {
            attributes: attrs(&mut r),
            nlri,
            ..Default::default()
        });
    }
    let bodies = msgs
        .iter()
        .map(|m| {
            let mut out = BytesMut::new();
            encode_body(m, ctx, &mut out).unwrap();
            out.freeze()
        })
        .collect();
    (msgs, bodies, prefixes)
}

fn v6_stream(ctx: &SessionContext) -> (Vec<Bytes>, usize) {
    let mut r = Rng(0x1234_5678_9ABC_DEF1);
    let mut bodies = Vec::new();
    let mut prefixes = 0;
    for _ in 0..2000 {
        let k = 1 + r.below(12) as usize;
        let nlri: Vec<Nlri> = (0..k)
            .map(|_| {
                let len = [48u8, 48, 64, 64, 64, 56, 32, 40][r.below(8) as usize];
                let a = (u128::from(r.next()) << 64) | u128::from(r.next());
                Nlri::new(Prefix::V6(Ipv6Prefix::new(Ipv6Addr::from(a), len).unwrap()))
            })
            .collect();
        prefixes += k;
        let m = UpdateMessage {
            attributes: PathAttributes {
                next_hop: None,
                ..attrs(&mut r)
            },
            mp_reach: Some(MpReach {
                family: Family::IPV6_UNICAST,
                next_hop: MpNextHop {
                    global: "2001:db8::1".parse().unwrap(),
                    link_local: None,
                },
                nlri,
            }),
            ..Default::default()
        };
        let mut out = BytesMut::new();
        encode_body(&m, ctx, &mut out).unwrap();
        bodies.push(out.freeze());
    }
    (bodies, prefixes)
}

fn decode_all(bodies: &[Bytes], ctx: &SessionContext, with_attrs: bool) -> usize {
    let mut n = 0;
    for b in bodies {
        let u = Update::decode(b.clone(), ctx).unwrap();
        if with_attrs {
            black_box(u.attributes());
        }
        for p in u.nlri() {
            black_box(p);
            n += 1;
        }
        if let Some(mp) = u.mp_reach() {
            black_box(mp.next_hop());
            for p in mp.nlri() {
                black_box(p);
                n += 1;
            }
        }
    }
    n
}

/// Decodes every UPDATE and reads every attribute through the borrowed
/// [`Update::attributes_view`] (scalars parsed, every AS and community
/// decoded, nothing allocated), then iterates every NLRI.
fn decode_view(bodies: &[Bytes], ctx: &SessionContext) -> usize {
    let mut n = 0;
    for b in bodies {
        let u = Update::decode(b.clone(), ctx).unwrap();
        let a = u.attributes_view();
        black_box((
            a.origin(),
            a.next_hop(),
            a.med(),
            a.local_pref(),
            a.atomic_aggregate(),
            a.aggregator(),
            a.originator_id(),
        ));
        let mut h = 0u32;
        for asn in a.as_path().asns() {
            h = h.wrapping_add(asn);
        }
        for c in a.communities() {
            h = h.wrapping_add(c.0);
        }
        for c in a.large_communities() {
            h = h.wrapping_add(c.global ^ c.local1 ^ c.local2);
        }
        h = h.wrapping_add(a.ext_communities().len() as u32 + a.cluster_list().len() as u32);
        black_box(h);
        for p in u.nlri() {
            black_box(p);
            n += 1;
        }
        if let Some(mp) = u.mp_reach() {
            black_box(mp.next_hop());
            for p in mp.nlri() {
                black_box(p);
                n += 1;
            }
        }
    }
    n
}

/// `UPDATE_BENCH_LOOPS=N UPDATE_BENCH_WHAT=decode|view|nlri|validate|attrs|encode` (and
/// `UPDATE_BENCH_DENSE=1` for the dense stream): run one
/// workload N times and exit, for `perf stat` (CPU time and cycles are
/// meaningful on a loaded machine, where criterion's wall clock is not).
fn fixed_loops(ctx: &SessionContext, msgs: &[UpdateMessage], bodies: &[Bytes]) {
    let Some(loops) = std::env::var("UPDATE_BENCH_LOOPS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    else {
        return;
    };
    let what = std::env::var("UPDATE_BENCH_WHAT").unwrap_or_default();
    let mut total = 0usize;
    let mut out = BytesMut::new();
    for _ in 0..loops {
        match what.as_str() {
            "nlri" => total += decode_all(bodies, ctx, false),
            "view" => total += decode_view(bodies, ctx),
            "validate" => {
                for b in bodies {
                    total += usize::from(Update::decode(b.clone(), ctx).is_ok());
                }
            }
            "attrs" => {
                let decoded: Vec<Update> = bodies
                    .iter()
                    .map(|b| Update::decode(b.clone(), ctx).unwrap())
                    .collect();
                for u in &decoded {
                    total += black_box(u.attributes()).as_path.segments.len();
                }
            }
            "encode" => {
                out.clear();
                for m in msgs {
                    encode_body(m, ctx, &mut out).unwrap();
                }
                total += out.len();
            }
            _ => total += decode_all(bodies, ctx, true),
        }
    }
    eprintln!("{what}: {loops} loops, {total} units");
    std::process::exit(0);
}

fn bench(c: &mut Criterion) {
    let ctx = SessionContext {
        four_octet_as: true,
        ..Default::default()
    };
    let dense_mode = std::env::var("UPDATE_BENCH_DENSE").is_ok();
    let (msgs, bodies, prefixes) = v4_stream(&ctx, dense_mode);
    fixed_loops(&ctx, &msgs, &bodies);
    let octets: usize = bodies.iter().map(Bytes::len).sum();
    eprintln!(
        "ipv4 stream: {} UPDATEs, {prefixes} prefixes, {octets} body octets ({:.1} prefixes/UPDATE)",
        bodies.len(),
        prefixes as f64 / bodies.len() as f64
    );

    let mut g = c.benchmark_group("ipv4_per_prefix");
    g.throughput(Throughput::Elements(prefixes as u64));
    g.bench_function("decode_full", |b| {
        b.iter(|| decode_all(&bodies, &ctx, true))
    });
    g.bench_function("decode_view", |b| b.iter(|| decode_view(&bodies, &ctx)));
    g.bench_function("decode_nlri_only", |b| {
        b.iter(|| decode_all(&bodies, &ctx, false))
    });
    g.bench_function("encode_body", |b| {
        let mut out = BytesMut::with_capacity(octets + 64);
        b.iter(|| {
            out.clear();
            for m in &msgs {
                encode_body(m, &ctx, &mut out).unwrap();
            }
            black_box(out.len())
        })
    });
    g.finish();

    let mut g = c.benchmark_group("ipv4_octets");
    g.throughput(Throughput::Bytes(octets as u64));
    g.bench_function("decode_full", |b| {
        b.iter(|| decode_all(&bodies, &ctx, true))
    });
    g.bench_function("decode_view", |b| b.iter(|| decode_view(&bodies, &ctx)));
    g.finish();

    let (_, dense, dense_prefixes) = v4_stream(&ctx, true);
    let dense_octets: usize = dense.iter().map(Bytes::len).sum();
    eprintln!(
        "dense ipv4 stream: {} UPDATEs, {dense_prefixes} prefixes, {dense_octets} octets",
        dense.len()
    );
    let mut g = c.benchmark_group("ipv4_dense_per_prefix");
    g.throughput(Throughput::Elements(dense_prefixes as u64));
    g.bench_function("decode_full", |b| b.iter(|| decode_all(&dense, &ctx, true)));
    g.finish();

    let (v6, v6_prefixes) = v6_stream(&ctx);
    let mut g = c.benchmark_group("ipv6_per_prefix");
    g.throughput(Throughput::Elements(v6_prefixes as u64));
    g.bench_function("decode_full", |b| b.iter(|| decode_all(&v6, &ctx, true)));
    g.finish();

    // Export: 10 000 /24s with one attribute set, packed into 4096-octet
    // messages (header included).
    let mut r = Rng(7);
    let a = attrs(&mut r);
    let nlri: Vec<Nlri> = (0..10_000u32)
        .map(|i| {
            Nlri::new(Prefix::V4(
                Ipv4Prefix::new(Ipv4Addr::from(0x0A00_0000 | i << 8), 24).unwrap(),
            ))
        })
        .collect();
    let packer = UpdatePacker::new(&ctx);
    let msgs = packer
        .announce(&a, None, Family::IPV4_UNICAST, &nlri)
        .unwrap();
    let packed: usize = msgs.iter().map(Bytes::len).sum();
    eprintln!(
        "pack: 10000 /24 -> {} messages, {packed} octets",
        msgs.len()
    );
    let mut g = c.benchmark_group("pack_per_prefix");
    g.throughput(Throughput::Elements(nlri.len() as u64));
    g.bench_function("announce_10k_v4", |b| {
        b.iter(|| {
            black_box(
                packer
                    .announce(&a, None, Family::IPV4_UNICAST, &nlri)
                    .unwrap(),
            )
        })
    });
    g.bench_function("withdraw_10k_v4", |b| {
        b.iter(|| black_box(packer.withdraw(Family::IPV4_UNICAST, &nlri).unwrap()))
    });
    g.finish();
}

/// An UPDATE body of about `size` octets: ORIGIN, AS_PATH, NEXT_HOP, one
/// /24, and then the same unknown optional transitive attribute over and
/// over (RFC 7606: every duplicate is discarded, each an issue), as a
/// hostile peer floods.
fn duplicates_body(size: usize) -> Bytes {
    let mut attrs = vec![
        0x40, 1, 1, 0, // ORIGIN
        0x40, 2, 6, 2, 1, 0, 0, 0xfe, 0x4c, // AS_PATH 65100
        0x40, 3, 4, 172, 18, 0, 2, // NEXT_HOP
    ];
    while attrs.len() + 4 + 4 + 4 <= size {
        attrs.extend_from_slice(&[0xc0, 200, 1, 7]);
    }
    let mut body = vec![0, 0];
    body.extend_from_slice(&u16::try_from(attrs.len()).unwrap().to_be_bytes());
    body.extend_from_slice(&attrs);
    body.extend_from_slice(&[24, 10, 241, 0]);
    Bytes::from(body)
}

/// Decoding UPDATEs full of duplicated attributes costs the same per octet
/// at 4 KiB and at 64 KiB: linear in what a peer sends.
fn bench_duplicates(c: &mut Criterion) {
    let ctx = SessionContext {
        four_octet_as: true,
        extended_message: true,
        ..Default::default()
    };
    let mut g = c.benchmark_group("duplicate_attributes_octets");
    for size in [4096usize, 65_000] {
        let body = duplicates_body(size);
        let u = Update::decode(body.clone(), &ctx).unwrap();
        eprintln!("{size}: {} issues", u.issues().len());
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(format!("decode_attributes_{size}"), |b| {
            b.iter(|| {
                let u = Update::decode(body.clone(), &ctx).unwrap();
                black_box(u.attributes())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench, bench_duplicates);
criterion_main!(benches);
