//! A rolling restart (`--flap SECS`): once the monitor holds every
//! prefix, each feeder's session closes (the TCP connection drops, as
//! when a node's agent restarts) and the feeder connects again at once
//! and announces its table anew, now marked with
//! [`FLAPPED`](crate::workload::FLAPPED). The closes are spread evenly
//! over SECS (0: all at once). Measured from the first close: every
//! second session Established, and the monitor consistent again (every
//! prefix there, each from its feeder's second session).

use crate::speaker::{self, Feeder, Identity, Monitor};
use crate::workload::{FeederLoad, Workload};
use crate::{Error, Result};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

/// What a rolling restart measured, from the first close.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FlapRun {
    /// Every feeder's second session Established.
    pub established: Duration,
    /// The monitor holds every prefix, each from a second session.
    pub consistent: Duration,
}

/// Where the feeders connect from and to.
pub struct Endpoints<'a> {
    /// The daemon's address.
    pub remote: SocketAddr,
    /// Each feeder's source address.
    pub locals: &'a [Ipv4Addr],
}

/// Flaps every feeder once, closes spread over `over`; returns the
/// measurements and the feeders of the second sessions (kept running
/// until the run ends).
pub async fn rolling_restart(
    feeders: Vec<Feeder>,
    workload: &Workload,
    at: &Endpoints<'_>,
    monitor: &Monitor,
    over: Duration,
    limit: Duration,
) -> Result<(FlapRun, Vec<Feeder>)> {
    let loads: Vec<FeederLoad> = workload
        .feeders
        .iter()
        .map(FeederLoad::flapped)
        .collect::<Result<_>>()?;
    let total = workload.prefix_count();
    // Every first session's table is written before any closes, so the
    // flap is measured from a quiet start.
    for f in &feeders {
        let mut sent = f.sent.clone();
        let _ = sent.wait_for(|s| *s).await;
    }
    let count = u32::try_from(feeders.len()).unwrap_or(u32::MAX).max(1);
    let t0 = Instant::now();
    let mut restarting = Vec::with_capacity(feeders.len());
    for (i, ((old, load), &local)) in (0u32..).zip(feeders.into_iter().zip(loads).zip(at.locals)) {
        let delay = over * i / count;
        let remote = at.remote;
        let me = Identity {
            asn: load.asn,
            router_id: load.addr,
            graceful_restart: false,
            ipv6: load.addr6.is_some(),
        };
        restarting.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            old.close().await;
            let session = speaker::connect(local, remote, &me, Duration::from_secs(60)).await?;
            Feeder::start(session, &load)
        }));
    }
    let mut second = Vec::with_capacity(restarting.len());
    let deadline = tokio::time::Instant::now() + limit;
    for h in restarting {
        let f = tokio::time::timeout_at(deadline, h)
            .await
            .map_err(|_| Error::Timeout {
                what: "feeders' second sessions".into(),
                secs: limit.as_secs(),
            })?
            .map_err(|_| Error::Usage("feeder task failed".into()))??;
        second.push(f);
    }
    let last_up = second.iter().map(|f| f.established).max().unwrap_or(t0);
    let done = monitor
        .wait_for(
            "every prefix from the second sessions at the monitor",
            limit,
            |c| c.total() >= total && c.flapped >= total,
        )
        .await?;
    Ok((
        FlapRun {
            established: last_up.saturating_duration_since(t0),
            consistent: done.saturating_duration_since(t0),
        },
        second,
    ))
}
