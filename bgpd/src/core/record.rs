//! Record and replay: `rbgpd --record FILE` writes the config the core
//! started with, every input with its time and every output as JSON lines;
//! [`replay`] feeds the inputs of such a file into a fresh [`Core`] at the
//! same times and compares what comes out with what the recorded run did.
//! A field bug report with a recording becomes a regression test.
//!
//! Each `poll_output` call of the recorded run is one `out` line (an empty
//! one when it returned nothing), so the replay polls exactly where the
//! recorded run did: the batching of events, and so the packing of the
//! UPDATEs, is the same.

use super::{Core, Input, Output};
use crate::config::Config;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::io::{self, BufRead, Write};
use std::time::{Duration, Instant};

/// One line of a recording.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Line {
    /// The first line: the config the core started with.
    Start {
        /// The config.
        config: Box<Config>,
        /// Why the FIB was off though the config enabled it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fib_off: Option<String>,
    },
    /// An input, `us` microseconds after the start.
    In {
        /// Time since the start.
        us: u64,
        /// The input (boxed: a control request's context is large).
        input: Box<Input>,
    },
    /// What one `poll_output` call (or `poll_pending`, when `pending`)
    /// returned.
    Out {
        /// The output as JSON, or nothing.
        output: Option<Box<RawValue>>,
        /// The call was `poll_pending`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        pending: bool,
    },
}

/// Writes a recording as the driver goes.
pub struct Recorder {
    w: Box<dyn Write + Send>,
    started: Instant,
    failed: bool,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("failed", &self.failed)
            .finish()
    }
}

impl Recorder {
    /// Starts a recording into `w` of a core started at `now` on `config`.
    pub fn new(mut w: Box<dyn Write + Send>, core: &Core, now: Instant) -> io::Result<Self> {
        let start = Line::Start {
            config: Box::new(core.config().clone()),
            fib_off: core.fib_off().map(String::from),
        };
        write_line(&mut w, &start)?;
        Ok(Recorder {
            w,
            started: now,
            failed: false,
        })
    }

    /// Records an input handed to the core at `now`.
    pub fn input(&mut self, now: Instant, input: &Input) {
        let us = now.saturating_duration_since(self.started).as_micros();
        #[derive(Serialize)]
        #[serde(rename_all = "snake_case")]
        enum Ref<'a> {
            In { us: u64, input: &'a Input },
        }
        let line = Ref::In {
            us: u64::try_from(us).unwrap_or(u64::MAX),
            input,
        };
        self.write(&line);
    }

    /// Records what one `poll_output` call (`pending`: `poll_pending`)
    /// returned.
    pub fn output(&mut self, output: Option<&Output>, pending: bool) {
        #[derive(Serialize)]
        #[serde(rename_all = "snake_case")]
        enum Ref<'a> {
            Out {
                output: Option<&'a Output>,
                #[serde(skip_serializing_if = "std::ops::Not::not")]
                pending: bool,
            },
        }
        self.write(&Ref::Out { output, pending });
    }

    /// Writes what is buffered.
    pub fn flush(&mut self) {
        if !self.failed {
            if let Err(e) = self.w.flush() {
                self.fail(&e);
            }
        }
    }

    fn write<T: Serialize>(&mut self, line: &T) {
        if self.failed {
            return;
        }
        if let Err(e) = write_line(&mut self.w, line) {
            self.fail(&e);
        }
    }

    /// A recording that cannot be written stops (once, logged); the daemon
    /// goes on.
    fn fail(&mut self, e: &io::Error) {
        self.failed = true;
        tracing::error!(error = %e, "recording stopped: cannot write");
    }
}

fn write_line<T: Serialize>(w: &mut dyn Write, line: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *w, line)?;
    w.write_all(b"\n")
}

/// Why a replay did not match.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The file could not be read or a line not parsed.
    #[error("line {line}: {message}")]
    Read {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        message: String,
    },
    /// The replayed core gave another output than the recorded run.
    #[error("line {line}: the replay gave {got}, the recording has {want}")]
    Mismatch {
        /// 1-based line number.
        line: usize,
        /// The replayed output.
        got: String,
        /// The recorded output.
        want: String,
    },
}

/// What a replay went through.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReplayStats {
    /// Inputs fed.
    pub inputs: usize,
    /// Outputs compared (`Some` on both sides).
    pub outputs: usize,
}

/// Replays a recording into a fresh core; every output must equal the
/// recorded one.
pub fn replay(r: impl BufRead) -> Result<ReplayStats, ReplayError> {
    let base = Instant::now();
    let mut core: Option<Core> = None;
    let mut stats = ReplayStats::default();
    for (i, text) in r.lines().enumerate() {
        let line = i + 1;
        let read_err = |message: String| ReplayError::Read { line, message };
        let text = text.map_err(|e| read_err(e.to_string()))?;
        let parsed: Line = serde_json::from_str(&text).map_err(|e| read_err(e.to_string()))?;
        match (parsed, core.as_mut()) {
            (Line::Start { config, fib_off }, None) => {
                let mut c = Core::new(*config, base).map_err(|e| read_err(e.to_string()))?;
                if let Some(reason) = fib_off {
                    c.set_fib_off(reason);
                }
                core = Some(c);
            }
            (Line::In { us, input }, Some(c)) => {
                c.handle(base + Duration::from_micros(us), *input);
                stats.inputs += 1;
            }
            (
                Line::Out {
                    output: want,
                    pending,
                },
                Some(c),
            ) => {
                let got = if pending {
                    c.poll_pending()
                } else {
                    c.poll_output()
                };
                let got = got.map(|o| to_json(&o));
                let want = want.map(|w| w.get().to_string());
                if got != want {
                    return Err(ReplayError::Mismatch {
                        line,
                        got: describe(got),
                        want: describe(want),
                    });
                }
                stats.outputs += usize::from(got.is_some());
            }
            (Line::Start { .. }, Some(_)) => return Err(read_err("a second start line".into())),
            (_, None) => return Err(read_err("the first line must be the start".into())),
        }
    }
    Ok(stats)
}

/// An output as the recorder writes it (serde_json writes a value the
/// same way every time).
fn to_json(o: &Output) -> String {
    serde_json::to_string(o).unwrap_or_else(|e| format!("unserialisable: {e}"))
}

/// An output for an error message, shortened.
fn describe(v: Option<String>) -> String {
    let Some(mut s) = v else {
        return "nothing".into();
    };
    if s.len() > 300 {
        let cut = (0..=300)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        s.truncate(cut);
        s.push_str("...");
    }
    s
}
