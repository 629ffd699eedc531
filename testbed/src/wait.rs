//! Polling until a condition holds, or proving that it keeps holding.
//!
//! [`poll`] is the fallible form for harnesses; [`wait_for`], [`settles`]
//! and [`stays`] panic with a message, as a test's assertion would.

use crate::{Error, Result};
use std::convert::Infallible;
use std::fmt::Display;
use std::time::{Duration, Instant};

/// How often the panicking forms poll.
const EVERY: Duration = Duration::from_millis(200);

/// Calls `f` every `every` until it returns `Ok(Some(v))`, and returns
/// `v`; after `timeout`, an [`Error::Timeout`] naming `what` and the last
/// `Err` seen.
pub fn poll<T, E: Display>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut f: impl FnMut() -> std::result::Result<Option<T>, E>,
) -> Result<T> {
    let start = Instant::now();
    let mut last = String::new();
    loop {
        match f() {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last = e.to_string(),
        }
        if start.elapsed() >= timeout {
            let what = if last.is_empty() {
                what.to_string()
            } else {
                format!("{what} (last: {last})")
            };
            return Err(Error::Timeout {
                what,
                secs: timeout.as_secs_f64(),
            });
        }
        std::thread::sleep(every);
    }
}

/// Polls `f` every 200 ms until it holds.
///
/// # Panics
/// After `secs` seconds.
pub fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let r = poll(what, Duration::from_secs(secs), EVERY, || {
        Ok::<_, Infallible>(f().then_some(()))
    });
    if let Err(e) = r {
        panic!("{e}");
    }
}

/// Waits until `f` holds for `stable` seconds in a row.
///
/// # Panics
/// When that has not happened after `secs` seconds in all.
pub fn settles(what: &str, secs: u64, stable: u64, mut f: impl FnMut() -> bool) {
    let mut since: Option<Instant> = None;
    let r = poll(what, Duration::from_secs(secs), EVERY, || {
        if !f() {
            since = None;
            return Ok::<_, Infallible>(None);
        }
        let s = *since.get_or_insert_with(Instant::now);
        Ok((s.elapsed() >= Duration::from_secs(stable)).then_some(()))
    });
    if r.is_err() {
        panic!("{what} did not hold for {stable} s in a row within {secs} s");
    }
}

/// Checks that `f` holds for the whole of `secs` seconds (polled every
/// 200 ms).
///
/// # Panics
/// As soon as it does not.
pub fn stays(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        assert!(f(), "{what} no longer holds");
        std::thread::sleep(EVERY);
    }
}
