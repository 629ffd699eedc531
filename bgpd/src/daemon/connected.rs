//! The router's connected networks for `redistribute = ["connected"]`:
//! read at start and again after every link or address change the kernel
//! announces, handed to the core whole when they differ.

use bgp_proto::Prefix;
use futures::StreamExt;
use rtnetlink::MulticastGroup;
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::warn;

/// How long a burst of changes (an interface coming up brings several)
/// may settle before the networks are read again.
const SETTLE: Duration = Duration::from_millis(200);

/// Starts the watcher; it sends the whole set of connected networks on
/// `tx` at start and after each change, and ends with the driver.
pub(super) fn spawn(tx: mpsc::Sender<Vec<Prefix>>) {
    tokio::spawn(async move {
        if let Err(e) = watch(tx).await {
            warn!(error = %e, "connected networks are not followed");
        }
    });
}

async fn watch(tx: mpsc::Sender<Vec<Prefix>>) -> Result<(), crate::fib::FibError> {
    let groups = [
        MulticastGroup::Link,
        MulticastGroup::Ipv4Ifaddr,
        MulticastGroup::Ipv6Ifaddr,
    ];
    let (connection, handle, mut changes) =
        rtnetlink::new_multicast_connection(&groups).map_err(|source| {
            crate::fib::FibError::Io {
                op: "rtnetlink monitor socket",
                source,
            }
        })?;
    tokio::spawn(connection);
    let mut last: Option<Vec<Prefix>> = None;
    loop {
        let mut nets: Vec<Prefix> = crate::fib::connected_networks(&handle)
            .await?
            .into_iter()
            .map(|c| c.prefix)
            .collect();
        nets.sort_unstable();
        nets.dedup();
        if last.as_ref() != Some(&nets) {
            if tx.send(nets.clone()).await.is_err() {
                return Ok(());
            }
            last = Some(nets);
        }
        // Wait for a change, let the burst settle, and drop what came
        // meanwhile: one read covers them all.
        if changes.next().await.is_none() {
            return Ok(());
        }
        tokio::time::sleep(SETTLE).await;
        while changes.try_recv().is_ok() {}
    }
}
