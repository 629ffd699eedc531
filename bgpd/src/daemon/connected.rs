//! The router's connected networks for `redistribute = ["connected"]`:
//! read at start and again after every link or address change the kernel
//! announces, handed to the core whole when they differ. Only links that
//! are up with a carrier count.

use bgp_proto::Prefix;
use futures::StreamExt;
use rtnetlink::MulticastGroup;
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::warn;

/// How long a burst of changes (an interface coming up brings several)
/// may settle before the networks are read again.
const SETTLE: Duration = Duration::from_millis(200);
/// Waits before the watcher starts again after a failure: doubled each
/// time up to the last, back to the first once it runs.
const RETRY: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(60)];

/// Starts the watcher; it sends the whole set of connected networks on
/// `tx` at start and after each change, and ends with the driver. A
/// failure (a netlink socket refused, a dump failing) is logged and the
/// watcher starts again later.
pub(super) fn spawn(tx: mpsc::Sender<Vec<Prefix>>) {
    tokio::spawn(async move {
        let mut wait = RETRY[0];
        let mut last: Option<Vec<Prefix>> = None;
        loop {
            match watch(&tx, &mut last, &mut wait).await {
                Ok(()) => return,
                Err(e) => warn!(
                    error = %e, retry_in_s = wait.as_secs(),
                    "connected networks are not followed for now"
                ),
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(RETRY[1]);
        }
    });
}

/// Follows the networks until the driver is gone (`Ok`) or netlink fails.
async fn watch(
    tx: &mpsc::Sender<Vec<Prefix>>,
    last: &mut Option<Vec<Prefix>>,
    wait: &mut Duration,
) -> Result<(), String> {
    let groups = [
        MulticastGroup::Link,
        MulticastGroup::Ipv4Ifaddr,
        MulticastGroup::Ipv6Ifaddr,
    ];
    let (connection, handle, mut changes) = rtnetlink::new_multicast_connection(&groups)
        .map_err(|e| format!("rtnetlink monitor socket: {e}"))?;
    let conn = tokio::spawn(connection);
    let result = async {
        loop {
            let mut nets: Vec<Prefix> = crate::fib::connected_networks(&handle, true)
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|c| c.prefix)
                .collect();
            nets.sort_unstable();
            nets.dedup();
            *wait = RETRY[0];
            if last.as_ref() != Some(&nets) {
                if tx.send(nets.clone()).await.is_err() {
                    return Ok(());
                }
                *last = Some(nets);
            }
            // Wait for a change, let the burst settle, and drop what came
            // meanwhile: one read covers them all.
            if changes.next().await.is_none() {
                return Err("the netlink monitor stream ended".to_string());
            }
            tokio::time::sleep(SETTLE).await;
            while changes.try_recv().is_ok() {}
        }
    }
    .await;
    conn.abort();
    result
}
