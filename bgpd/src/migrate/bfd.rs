//! BFD: a BGP protocol's `bfd on` becomes the neighbor's `bfd` table, with
//! the timers of `protocol bfd` (or BIRD's defaults).
//!
//! Invariant: the table never makes rbgpd stricter or quicker than BIRD
//! was. BIRD brings a BGP session up without waiting for BFD, so `strict =
//! false`; rbgpd has one interval for what it sends and what it asks to
//! receive, so it takes the larger of BIRD's two, and the slowest of
//! `protocol bfd`'s interface blocks when they differ.

use super::bird::Item;
use super::to_toml::Note;

/// The BFD timers of the neighbors with `bfd on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// rbgpd's `interval_ms`.
    pub interval_ms: u32,
    /// rbgpd's `multiplier`.
    pub multiplier: u8,
    /// The `protocol bfd` they come from (none: BIRD's defaults).
    pub line: Option<usize>,
}

/// BIRD's defaults: min tx interval 100 ms, min rx interval 10 ms,
/// multiplier 5.
pub const BIRD_DEFAULTS: Timers = Timers {
    interval_ms: 100,
    multiplier: 5,
    line: None,
};

impl Timers {
    /// The neighbor's `bfd` value.
    pub fn toml(&self) -> String {
        format!(
            "{{ interval_ms = {}, multiplier = {}, strict = false }}",
            self.interval_ms, self.multiplier
        )
    }

    /// The note at a neighbor's `bfd on`.
    pub fn note(&self) -> String {
        let from = match self.line {
            Some(l) => format!("the timers of protocol bfd at line {l}"),
            // BIRD needs a `protocol bfd` to run the sessions `bfd on` asks
            // for; rbgpd runs its own.
            None => "BIRD's default timers, min tx interval 100 ms, multiplier 5; the file has no \
                     protocol bfd, without which BIRD runs no BFD session"
                .into(),
        };
        format!(
            "bfd on: bfd = {} (BIRD brings BGP up without waiting for BFD; {from})",
            self.toml()
        )
    }
}

fn note(notes: &mut Vec<Note>, line: usize, message: String, untranslated: bool) {
    notes.push(Note {
        line,
        message,
        untranslated,
    });
}

/// `protocol bfd` at `line`: the timers of its `interface` and `multihop`
/// blocks.
pub fn protocol(line: usize, items: &[Item], notes: &mut Vec<Note>) -> Timers {
    let mut found: Vec<(u32, u8)> = Vec::new();
    for item in items {
        match item {
            Item::Block { head, items, .. }
                if matches!(
                    head.first().map(String::as_str),
                    Some("interface" | "multihop")
                ) =>
            {
                found.push(options(items, notes));
            }
            Item::Stmt { words, line } if words[0] == "accept" => note(
                notes,
                *line,
                format!(
                    "`{}`: rbgpd answers BFD for its neighbors with bfd",
                    words.join(" ")
                ),
                false,
            ),
            Item::Stmt { words, line } => note(
                notes,
                *line,
                format!("`{}` is not translated", words.join(" ")),
                true,
            ),
            Item::Block { head, line, .. } => note(
                notes,
                *line,
                format!("`{} {{ }}` is not translated", head.join(" ")),
                true,
            ),
        }
    }
    found.sort_by_key(|(i, m)| u64::from(*i) * u64::from(*m));
    found.dedup();
    let (interval_ms, multiplier) = found
        .last()
        .copied()
        .unwrap_or((BIRD_DEFAULTS.interval_ms, BIRD_DEFAULTS.multiplier));
    if found.len() > 1 {
        note(
            notes,
            line,
            format!(
                "protocol bfd: its blocks differ in timers, rbgpd has one setting per \
                 neighbor: every neighbor with bfd gets the slowest, {interval_ms} ms x \
                 {multiplier}"
            ),
            true,
        );
    }
    Timers {
        interval_ms,
        multiplier,
        line: Some(line),
    }
}

/// `300 ms`, `1 s`, `50000 us` (BIRD's `expr_us`) in milliseconds,
/// rounded up.
fn time(words: &[&str]) -> Option<u64> {
    let t = words.concat();
    let digits = t.find(|c: char| !c.is_ascii_digit())?;
    let n: u64 = t[..digits].parse().ok()?;
    match &t[digits..] {
        "s" => n.checked_mul(1000),
        "ms" => Some(n),
        "us" => Some(n.div_ceil(1000)),
        _ => None,
    }
}

/// One `interface` or `multihop` block's `(interval_ms, multiplier)`.
fn options(items: &[Item], notes: &mut Vec<Note>) -> (u32, u8) {
    let (mut tx, mut rx, mut mult) = (100u64, 10u64, 5u64);
    for item in items {
        let Item::Stmt { words, line } = item else {
            if let Item::Block { line, .. } = item {
                note(
                    notes,
                    *line,
                    "a block in a BFD interface is not translated".into(),
                    true,
                );
            }
            continue;
        };
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        let read = match w.as_slice() {
            ["interval", t @ ..] => time(t).map(|v| (tx, rx) = (v, v)),
            ["min", "tx", "interval", t @ ..] => time(t).map(|v| tx = v),
            ["min", "rx", "interval", t @ ..] => time(t).map(|v| rx = v),
            ["multiplier", m] => m.parse().ok().map(|v| mult = v),
            ["idle", "tx", "interval", ..] => {
                note(
                    notes,
                    *line,
                    "idle tx interval: rbgpd's slow rate while down is its own".into(),
                    false,
                );
                Some(())
            }
            _ => None,
        };
        if read.is_none() {
            note(
                notes,
                *line,
                format!("`{}` is not translated", words.join(" ")),
                true,
            );
        }
    }
    // rbgpd's bounds: 10 to 60000 ms, multiplier 2 to 255.
    let interval = u32::try_from(tx.max(rx).clamp(10, 60_000)).unwrap_or(60_000);
    let mult = u8::try_from(mult.clamp(2, 255)).unwrap_or(255);
    (interval, mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Timers, Vec<Note>) {
        let items = super::super::bird::parse(text).unwrap();
        let Item::Block { items, line, .. } = &items[0] else {
            panic!()
        };
        let mut notes = Vec::new();
        (protocol(*line, items, &mut notes), notes)
    }

    #[test]
    fn timers() {
        let (t, notes) = read(
            "protocol bfd {\n interface \"eth*\" { min rx interval 20 ms; \
             min tx interval 50 ms; multiplier 3; };\n}\n",
        );
        assert_eq!((t.interval_ms, t.multiplier, t.line), (50, 3, Some(1)));
        assert!(notes.is_empty(), "{notes:?}");
        // No interface block: BIRD's defaults (tx 100 ms, rx 10 ms, x5).
        let (t, _) = read("protocol bfd { accept direct; }");
        assert_eq!((t.interval_ms, t.multiplier), (100, 5));
        // Blocks that differ: the slowest, and a note.
        let (t, notes) = read(
            "protocol bfd {\n interface \"a\" { interval 1 s; };\n multihop { interval 300 ms; \
             multiplier 2; };\n}\n",
        );
        assert_eq!((t.interval_ms, t.multiplier), (1000, 5));
        assert!(notes.iter().any(|n| n.untranslated && n.line == 1));
        let (_, notes) = read("protocol bfd { interface \"a\" { passive on; }; }");
        assert!(notes[0].untranslated && notes[0].message.contains("passive"));
        assert_eq!(time(&["50000", "us"]), Some(50));
        assert_eq!(time(&["2s"]), Some(2000));
        assert_eq!(time(&["7"]), None);
    }
}
