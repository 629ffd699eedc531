//! The kernel's evidence that a gateway is gone: its neighbour entry (ARP
//! for IPv4, ND for IPv6) failed to resolve.
//!
//! Asked only in the start-up phase, for the gateways of routes a previous
//! run left in the kernel: nothing else tells us that the node behind such
//! a route is gone, and without traffic through the route the kernel never
//! tries to resolve its gateway. So we make it try: an `RTM_NEWNEIGH` with
//! `NTF_USE` makes the kernel treat the entry as used (`neigh_event_send`),
//! exactly what a packet through the route would do. An absent entry is
//! created INCOMPLETE and resolved; a STALE one is re-confirmed (DELAY,
//! then PROBE). Either ends REACHABLE, or FAILED once the probes go
//! unanswered (3 by default, 1 s apart; 5 s more for a STALE entry).
//! Checked on Linux 6.18 for ARP and ND (`fib_kernel.rs`).
//!
//! What we ask changes nobody's entry:
//! - a gateway without an entry gets `NLM_F_CREATE | NLM_F_EXCL` with
//!   state NONE: an entry someone adds meanwhile is left alone (EEXIST),
//!   and ours is an ordinary one that the kernel's garbage collection
//!   removes in time (a PERMANENT state would exempt it);
//! - a STALE entry, or a FAILED one from before we asked (its failure may
//!   be old news), is nudged with `NLM_F_REPLACE`, state NONE: with
//!   `NTF_USE` the kernel ignores the state and address we send;
//! - PERMANENT and NOARP entries, and entries someone else manages
//!   (`extern_learn`, `managed`), are never touched: the kernel's
//!   `NTF_USE` turns a PERMANENT entry into a dynamic one and clears
//!   `extern_learn`.
//!
//! The `managed` flag (`NTF_EXT_MANAGED`, Linux 5.16) resolves too, but the
//! kernel keeps re-probing such an entry until it is deleted: more to
//! clean up for the same answer.
//!
//! The same tables, read whole, give the IPv6 stand-ins of IPv4 gateways
//! ([`neighbours`], [`solicit`]; the decisions are `stand_in.rs`'s). There
//! we only create entries that do not exist (`NLM_F_EXCL`): the kernel
//! re-resolves a failed one as soon as traffic needs it.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use futures::TryStreamExt;
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourExtFlags, NeighbourFlags, NeighbourMessage,
    NeighbourState,
};
use netlink_packet_route::AddressFamily;

use super::all_nodes::AllNodesPinger;
use super::rtnl::failed;
use super::stand_in::{Mac, Neighbour, Solicit};
use super::{FibError, NextHop, Reach};

/// One neighbour entry as the dump gives it.
#[derive(Debug, Clone, Copy)]
struct Entry {
    state: NeighbourState,
    /// Someone else manages it (`extern_learn`, `managed`): never nudged.
    foreign: bool,
}

/// How to ask the kernel to resolve a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nudge {
    /// No entry: create one (and nothing else).
    Create,
    /// An entry of ours to resolve again.
    Refresh,
}

/// The gateways asked about so far, and what the kernel said.
#[derive(Debug, Default)]
pub(super) struct GatewayProber {
    /// Gateways the kernel was asked to resolve since we started: a FAILED
    /// entry counts only after that.
    asked: HashSet<NextHop>,
}

impl GatewayProber {
    /// Where the kernel stands on each of `gateways` (in order), asking it
    /// to resolve those it has no fresh answer for. A gateway without an
    /// interface is [`Reach::Unknown`].
    pub(super) async fn probe(
        &mut self,
        handle: &rtnetlink::Handle,
        gateways: &[NextHop],
    ) -> Result<Vec<Reach>, FibError> {
        let mut table = HashMap::new();
        for (v6, family) in [(false, AddressFamily::Inet), (true, AddressFamily::Inet6)] {
            if gateways.iter().any(|g| g.gateway.is_ipv6() == v6) {
                dump(handle, family, &mut table).await?;
            }
        }
        let mut out = Vec::with_capacity(gateways.len());
        for gw in gateways {
            if gw.ifindex == 0 {
                out.push(Reach::Unknown);
                continue;
            }
            let entry = table.get(&(gw.ifindex, gw.gateway)).copied();
            let (reach, nudge) = judge(entry, self.asked.contains(gw));
            if let Some(nudge) = nudge {
                match ask(handle, gw, nudge).await {
                    Ok(()) => {
                        self.asked.insert(*gw);
                    }
                    // The link went away, or someone added an entry just
                    // now: the next round sees what became of it.
                    Err(e) => tracing::debug!(gateway = %gw, error = %e, "resolving a gateway"),
                }
            }
            out.push(reach);
        }
        Ok(out)
    }
}

/// What an entry says of its gateway, and whether to ask the kernel to
/// resolve it. `asked`: we asked before this dump.
fn judge(entry: Option<Entry>, asked: bool) -> (Reach, Option<Nudge>) {
    let Some(e) = entry else {
        return (Reach::Unknown, Some(Nudge::Create));
    };
    let nudge = |n| (!e.foreign).then_some(n);
    match e.state {
        NeighbourState::Permanent
        | NeighbourState::Noarp
        | NeighbourState::Reachable
        | NeighbourState::Delay
        | NeighbourState::Probe => (Reach::Reachable, None),
        // Resolved once, unconfirmed since: it answered not long ago, and
        // the kernel is to find out whether it still does.
        NeighbourState::Stale => (Reach::Reachable, nudge(Nudge::Refresh)),
        NeighbourState::Failed if asked || e.foreign => (Reach::Failed, None),
        NeighbourState::Failed => (Reach::Unknown, nudge(Nudge::Refresh)),
        NeighbourState::Incomplete => (Reach::Unknown, None),
        _ => (Reach::Unknown, nudge(Nudge::Refresh)),
    }
}

/// Adds the neighbour entries of `family` to `table`, keyed by interface
/// and address.
async fn dump(
    handle: &rtnetlink::Handle,
    family: AddressFamily,
    table: &mut HashMap<(u32, IpAddr), Entry>,
) -> Result<(), FibError> {
    each_entry(handle, family, |m| {
        if let Some((addr, entry)) = to_entry(m) {
            table.insert((m.header.ifindex, addr), entry);
        }
    })
    .await
}

/// Calls `f` with every entry of the neighbour table of `family`.
async fn each_entry(
    handle: &rtnetlink::Handle,
    family: AddressFamily,
    mut f: impl FnMut(&NeighbourMessage),
) -> Result<(), FibError> {
    let mut entries = handle
        .neighbours()
        .get()
        .set_address_family(family)
        .execute();
    while let Some(m) = entries.try_next().await.map_err(failed("neighbour dump"))? {
        f(&m);
    }
    Ok(())
}

/// The address an entry is for.
fn destination(m: &NeighbourMessage) -> Option<IpAddr> {
    m.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::Destination(NeighbourAddress::Inet(v4)) => Some(IpAddr::V4(*v4)),
        NeighbourAttribute::Destination(NeighbourAddress::Inet6(v6)) => Some(IpAddr::V6(*v6)),
        _ => None,
    })
}

fn to_entry(m: &NeighbourMessage) -> Option<(IpAddr, Entry)> {
    let managed = m.attributes.iter().any(
        |a| matches!(a, NeighbourAttribute::ExtFlags(f) if f.contains(NeighbourExtFlags::Managed)),
    );
    let foreign = managed || m.header.flags.contains(NeighbourFlags::ExtLearned);
    Some((
        destination(m)?,
        Entry {
            state: m.header.state,
            foreign,
        },
    ))
}

/// Every entry of both neighbour tables, with its MAC address while the
/// entry holds a valid one.
pub(super) async fn neighbours(handle: &rtnetlink::Handle) -> Result<Vec<Neighbour>, FibError> {
    let mut out = Vec::new();
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        each_entry(handle, family, |m| out.extend(to_neighbour(m))).await?;
    }
    Ok(out)
}

fn to_neighbour(m: &NeighbourMessage) -> Option<Neighbour> {
    let valid = matches!(
        m.header.state,
        NeighbourState::Reachable
            | NeighbourState::Stale
            | NeighbourState::Delay
            | NeighbourState::Probe
            | NeighbourState::Permanent
    );
    let mac = m.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::LinkLayerAddress(l) if valid => {
            <[u8; 6]>::try_from(l.as_slice()).ok().map(Mac)
        }
        _ => None,
    });
    Some(Neighbour {
        ifindex: m.header.ifindex,
        addr: destination(m)?,
        mac,
    })
}

/// Sends `asks`: a neighbour entry created where none exists, a ping of
/// all nodes on a link. Failures are logged at debug level only: the next
/// round asks again.
pub(super) async fn solicit(
    handle: &rtnetlink::Handle,
    pinger: &mut AllNodesPinger,
    asks: &[Solicit],
) {
    for ask_for in asks {
        match ask_for {
            Solicit::Resolve(nh) => {
                if let Err(e) = ask(handle, nh, Nudge::Create).await {
                    tracing::debug!(neighbour = %nh, error = %e, "resolving a neighbour");
                }
            }
            Solicit::AllNodes(ifindex) => pinger.ping(*ifindex),
        }
    }
}

/// Asks the kernel to resolve `gw` (see the module doc).
async fn ask(handle: &rtnetlink::Handle, gw: &NextHop, nudge: Nudge) -> Result<(), FibError> {
    let req = handle
        .neighbours()
        .add(gw.ifindex, gw.gateway)
        .state(NeighbourState::None)
        .flags(NeighbourFlags::Use);
    let req = match nudge {
        Nudge::Create => req,
        Nudge::Refresh => req.replace(),
    };
    req.execute().await.map_err(failed("neighbour resolve"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(state: NeighbourState) -> Option<Entry> {
        Some(Entry {
            state,
            foreign: false,
        })
    }

    #[test]
    fn a_gateway_without_an_entry_is_created_and_unknown() {
        assert_eq!(judge(None, false), (Reach::Unknown, Some(Nudge::Create)));
        assert_eq!(judge(None, true), (Reach::Unknown, Some(Nudge::Create)));
    }

    #[test]
    fn a_failure_counts_only_after_we_asked() {
        let failed = entry(NeighbourState::Failed);
        assert_eq!(judge(failed, false), (Reach::Unknown, Some(Nudge::Refresh)));
        assert_eq!(judge(failed, true), (Reach::Failed, None));
    }

    #[test]
    fn a_stale_entry_is_reachable_but_confirmed_again() {
        let stale = entry(NeighbourState::Stale);
        assert_eq!(judge(stale, true), (Reach::Reachable, Some(Nudge::Refresh)));
    }

    #[test]
    fn entries_of_others_are_never_touched() {
        for state in [NeighbourState::Permanent, NeighbourState::Noarp] {
            assert_eq!(judge(entry(state), false), (Reach::Reachable, None));
        }
        let learned = |state| {
            Some(Entry {
                state,
                foreign: true,
            })
        };
        assert_eq!(
            judge(learned(NeighbourState::Stale), false),
            (Reach::Reachable, None)
        );
        assert_eq!(
            judge(learned(NeighbourState::Failed), false),
            (Reach::Failed, None)
        );
    }

    #[test]
    fn resolution_in_progress_is_unknown_and_left_alone() {
        assert_eq!(
            judge(entry(NeighbourState::Incomplete), true),
            (Reach::Unknown, None)
        );
    }
}
