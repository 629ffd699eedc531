//! Medians over runs and the comparison table (Markdown).

use crate::scenario::RunResult;
use std::fmt::Write as _;
use std::time::Duration;

/// The runs of one target in one scenario.
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// The target's name ("rbgpd", "bird", ..., "null-sink").
    pub target: String,
    /// Successful runs.
    pub runs: Vec<RunResult>,
    /// Failed runs, with the reason.
    pub failures: Vec<String>,
}

/// The median of some numbers (mean of the middle two when even).
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v.get(mid).copied()
    } else {
        Some((v.get(mid - 1)? + v.get(mid)?) / 2.0)
    }
}

/// The metrics of the table, each with a getter and a unit.
type Getter = fn(&RunResult) -> Option<f64>;

fn secs(d: Duration) -> Option<f64> {
    Some(d.as_secs_f64())
}

/// (column heading, getter) for every metric.
pub fn metrics() -> Vec<(&'static str, Getter)> {
    vec![
        ("sessions up (s)", |r| secs(r.established)),
        ("all at monitor (s)", |r| secs(r.converged)),
        ("all in kernel (s)", |r| r.fib.and_then(secs)),
        ("withdraw 10% (s)", |r| r.withdraw.and_then(secs)),
        ("re-announce (s)", |r| r.reannounce.and_then(secs)),
        ("flap: sessions up (s)", |r| {
            r.flap.map(|f| f.established.as_secs_f64())
        }),
        ("flap: monitor consistent (s)", |r| {
            r.flap.map(|f| f.consistent.as_secs_f64())
        }),
        ("BFD all Up (s)", |r| {
            r.bfd.as_ref().map(|b| b.all_up.as_secs_f64())
        }),
        ("BFD Downs", |r| r.bfd.as_ref().map(|b| b.downs as f64)),
        ("peak RSS (MiB)", |r| {
            r.peak_rss_kib.map(|k| k as f64 / 1024.0)
        }),
        ("CPU (s)", |r| r.cpu_secs),
        ("hold CPU (s)", |r| r.hold_cpu_secs),
        ("RSS after hold (MiB)", |r| {
            r.hold_rss_kib.map(|k| k as f64 / 1024.0)
        }),
    ]
}

impl Row {
    /// The median of one metric over the successful runs.
    pub fn median_of(&self, get: Getter) -> Option<f64> {
        median(self.runs.iter().filter_map(get).collect())
    }
}

fn fmt_value(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) if x >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.3}"),
    }
}

/// The Markdown table of medians, with only the metrics some row has, and
/// below it rbgpd's ratio to each other target (below 1: rbgpd is faster
/// or smaller).
pub fn table(rows: &[Row]) -> String {
    let cols: Vec<(&str, Getter)> = metrics()
        .into_iter()
        .filter(|(_, g)| rows.iter().any(|r| r.median_of(*g).is_some()))
        .collect();
    let mut t = String::from("| daemon | runs ok |");
    for (h, _) in &cols {
        let _ = write!(t, " {h} |");
    }
    t.push_str("\n|---|---|");
    for _ in &cols {
        t.push_str("---|");
    }
    t.push('\n');
    for r in rows {
        let _ = write!(
            t,
            "| {} | {}/{} |",
            r.target,
            r.runs.len(),
            r.runs.len() + r.failures.len()
        );
        for (h, g) in &cols {
            let v = r.median_of(*g);
            let text = match v {
                // Counts stay counts.
                Some(x) if h.ends_with("Downs") => format!("{x:.0}"),
                _ => fmt_value(v),
            };
            let _ = write!(t, " {text} |");
        }
        t.push('\n');
    }
    if let Some(rb) = rows.iter().find(|r| r.target == "rbgpd") {
        let others: Vec<&Row> = rows
            .iter()
            .filter(|r| {
                !r.target.starts_with("rbgpd") && r.target != "null-sink" && !r.runs.is_empty()
            })
            .collect();
        if !others.is_empty() && !rb.runs.is_empty() {
            t.push_str("\n| rbgpd / other |");
            for (h, _) in &cols {
                let _ = write!(t, " {h} |");
            }
            t.push_str("\n|---|");
            for _ in &cols {
                t.push_str("---|");
            }
            t.push('\n');
            for o in others {
                let _ = write!(t, "| rbgpd / {} |", o.target);
                for (_, g) in &cols {
                    let ratio = match (rb.median_of(*g), o.median_of(*g)) {
                        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
                        _ => "-".into(),
                    };
                    let _ = write!(t, " {ratio} |");
                }
                t.push('\n');
            }
        }
    }
    for r in rows {
        for (i, run) in r.runs.iter().enumerate() {
            if let Some(line) = details(run) {
                let _ = writeln!(t, "\n{} run {}: {line}", r.target, i + 1);
            }
        }
    }
    for r in rows {
        for f in &r.failures {
            let _ = writeln!(t, "\n{} failed: {f}", r.target);
        }
    }
    t
}

/// One run's BFD and hold figures in a line (every run, not medians: a
/// single false Down matters).
pub fn details(r: &RunResult) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(b) = &r.bfd {
        parts.push(format!(
            "BFD all Up {:.3} s (rbgpd's show bfd {:.1} s); Downs {} ({} in the hold; \
             rbgpd's transitions in the hold {}); rbgpd Up at the end {} (least uptime {} s); \
             speakers' BFD thread at most {:.1} ms late, drops {:?}, send errors {}; \
             UDP errors: speakers' namespace {:?}, daemon's {:?} ({:?} in the hold)",
            b.all_up.as_secs_f64(),
            b.rbgpd_all_up.as_secs_f64(),
            b.downs,
            b.hold_downs,
            b.rbgpd_hold_transitions
                .map_or_else(|| "?".into(), |n| n.to_string()),
            b.rbgpd_up_at_end,
            b.rbgpd_min_uptime
                .map_or_else(|| "?".into(), |n| n.to_string()),
            b.max_late.as_secs_f64() * 1e3,
            b.drops,
            b.send_errors,
            b.udp_peers,
            b.udp_dut,
            b.udp_dut_hold
        ));
    }
    if let Some(c) = r.hold_cpu_secs {
        parts.push(format!("hold CPU {c:.2} s"));
    }
    if let Some(c) = r.harness_hold_cpu_secs {
        parts.push(format!("the harness's CPU in the hold {c:.2} s"));
    }
    if let Some(k) = r.hold_rss_kib {
        parts.push(format!("RSS after the hold {:.1} MiB", k as f64 / 1024.0));
    }
    if let Some(n) = r.feeders_lost {
        parts.push(format!("feeder sessions lost {n}"));
    }
    if let Some(k) = r.peak_rss_kib {
        if !parts.is_empty() {
            parts.push(format!("peak RSS {:.1} MiB", k as f64 / 1024.0));
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn table_has_medians_and_ratios() {
        let run = |s: u64| RunResult {
            converged: Duration::from_secs(s),
            peak_rss_kib: Some(2048),
            ..RunResult::default()
        };
        let rows = vec![
            Row {
                target: "rbgpd".into(),
                runs: vec![run(1), run(2), run(9)],
                failures: vec![],
            },
            Row {
                target: "bird".into(),
                runs: vec![run(4)],
                failures: vec!["boom".into()],
            },
        ];
        let t = table(&rows);
        assert!(t.contains("| rbgpd | 3/3 | 0.000 | 2.000 | 2.000 |"), "{t}");
        assert!(t.contains("| bird | 1/2 |"), "{t}");
        assert!(t.contains("| rbgpd / bird | - | 0.50 | 1.00 |"), "{t}");
        assert!(!t.contains("kernel"), "{t}");
        assert!(t.contains("bird failed: boom"), "{t}");
    }
}
