//! The edge of unnumbered peering: once a second, the links that
//! `interface` patterns match (with our link-local address on each, from
//! `/proc/net/if_inet6`, which always shows the process's own network
//! namespace) go to the registry and to [`LinkDiscovery`]; router
//! advertisements and solicitations come in on one raw ICMPv6 socket and
//! ours go out on it; a router found on a link becomes its neighbor.

use super::link_discovery::{LinkAction, LinkDiscovery, LinkInfo};
use super::registry::LinkSource;
use super::router_advert::AdvertSocket;
use super::shared::Shared;
use crate::config::link_pattern_matches;
use crate::core::log_gate::LogGate;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;
use std::sync::Weak;
use std::time::{Duration, Instant};
use tracing::warn;

/// How often the links are read.
const SCAN_PERIOD: Duration = Duration::from_secs(1);
/// How often we advertise on each link once it is known (FRR sends its
/// RAs for interface neighbors every 10 s).
const ADVERT_INTERVAL: Duration = Duration::from_secs(10);

/// `IFA_F_TENTATIVE | IFA_F_DADFAILED`: an address not usable yet (or
/// ever) as a source.
const UNUSABLE: u32 = 0x40 | 0x08;

/// One link-local address of `/proc/net/if_inet6`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkLocal {
    /// Interface index.
    pub ifindex: u32,
    /// Interface name.
    pub name: String,
    /// The address.
    pub addr: Ipv6Addr,
}

/// The usable link-local addresses in the text of `/proc/net/if_inet6`
/// (`ADDR IFINDEX PLEN SCOPE FLAGS NAME`, hex); malformed lines skipped.
pub(crate) fn parse_if_inet6(text: &str) -> Vec<LinkLocal> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [addr, ifindex, _, _, flags, name] = f.as_slice() else {
                return None;
            };
            let addr = Ipv6Addr::from(u128::from_str_radix(addr, 16).ok()?);
            let flags = u32::from_str_radix(flags, 16).ok()?;
            let ifindex = u32::from_str_radix(ifindex, 16).ok()?;
            (addr.is_unicast_link_local() && flags & UNUSABLE == 0).then(|| LinkLocal {
                ifindex,
                name: (*name).to_string(),
                addr,
            })
        })
        .collect()
}

/// The links whose name a pattern matches, with our first link-local
/// address on each.
pub(crate) fn matching_links(all: &[LinkLocal], patterns: &[String]) -> Vec<LinkInfo> {
    let mut seen = BTreeSet::new();
    all.iter()
        .filter(|l| patterns.iter().any(|p| link_pattern_matches(p, &l.name)))
        .filter(|l| seen.insert(l.ifindex))
        .map(|l| LinkInfo {
            ifindex: l.ifindex,
            name: l.name.clone(),
            link_local: Some(l.addr),
            mac: None,
        })
        .collect()
}

fn read_links(patterns: &[String]) -> Vec<LinkInfo> {
    let Ok(text) = std::fs::read_to_string("/proc/net/if_inet6") else {
        return Vec::new();
    };
    let mut links = matching_links(&parse_if_inet6(&text), patterns);
    if !links.is_empty() {
        let macs = link_macs();
        for l in &mut links {
            l.mac = macs.get(&l.ifindex).copied();
        }
    }
    links
}

/// The Ethernet addresses of the interfaces, by index (`getifaddrs`'s
/// link-layer entries, read over netlink in our own namespace). Our
/// adverts carry them so that a receiver's kernel notes us in its
/// neighbour table at once (where GoBGP's `neighbor-interface` looks).
fn link_macs() -> BTreeMap<u32, [u8; 6]> {
    let mut out = BTreeMap::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below; each
    // entry's `ifa_addr` is null or points to a sockaddr of its family,
    // a `sockaddr_ll` for AF_PACKET.
    unsafe {
        if libc::getifaddrs(&mut head) != 0 {
            return out;
        }
        let mut at = head;
        while let Some(ifa) = at.as_ref() {
            if let Some(sa) = ifa.ifa_addr.as_ref() {
                if i32::from(sa.sa_family) == libc::AF_PACKET {
                    let ll = &*(ifa.ifa_addr as *const libc::sockaddr_ll);
                    if ll.sll_halen == 6 {
                        let mut mac = [0u8; 6];
                        mac.copy_from_slice(&ll.sll_addr[..6]);
                        if let Ok(i) = u32::try_from(ll.sll_ifindex) {
                            out.insert(i, mac);
                        }
                    }
                }
            }
            at = ifa.ifa_next;
        }
        libc::freeifaddrs(head);
    }
    out
}

/// Runs unnumbered peering until the manager is gone.
pub(super) async fn link_loop(shared: Weak<Shared>) {
    let socket = match AdvertSocket::open() {
        Ok(s) => Some(s),
        Err(e) => {
            warn!("unnumbered peering: cannot open an ICMPv6 socket ({e}): no router advertisements are sent or heard, only connections from the link's router are taken");
            None
        }
    };
    let mut discovery = LinkDiscovery::new(ADVERT_INTERVAL);
    let mut joined = BTreeSet::new();
    let mut recv_errors = LogGate::new();
    let mut scan = tokio::time::interval(SCAN_PERIOD);
    scan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let wake = discovery.poll_timeout();
        tokio::select! {
            _ = scan.tick() => {
                let Some(shared) = shared.upgrade() else { return };
                let patterns = shared.link_patterns();
                let links = read_links(&patterns);
                let names: BTreeMap<u32, String> =
                    links.iter().map(|l| (l.ifindex, l.name.clone())).collect();
                if let Some(s) = &socket {
                    for l in &links {
                        if joined.insert(l.ifindex) {
                            if let Err(e) = s.join_all_routers(l.ifindex) {
                                warn!(link = %l.name, "cannot join all-routers: {e}");
                            }
                        }
                    }
                    for gone in joined.iter().filter(|i| !names.contains_key(i)) {
                        // A deleted link left the group with it.
                        let _ = s.leave_all_routers(*gone);
                    }
                    joined.retain(|i| names.contains_key(i));
                }
                let indexes: Vec<u32> = names.keys().copied().collect();
                shared.set_links(names);
                discovery.set_links(Instant::now(), links);
                // A router heard but without a neighbor (refused at the
                // range's limit, say) is offered again.
                for ifindex in indexes {
                    if let Some(addr) = discovery.neighbor(ifindex) {
                        shared.link_neighbor_if_none(ifindex, addr);
                    }
                }
            }
            got = recv(socket.as_ref()) => {
                match got {
                    Ok((ifindex, from, kind)) => {
                        use super::router_advert::IcmpKind;
                        let now = Instant::now();
                        match kind {
                            IcmpKind::Advert => discovery.advert_received(now, ifindex, from),
                            IcmpKind::Solicit => discovery.solicit_received(now, ifindex),
                        }
                    }
                    Err(e) => {
                        if let Some(suppressed) = recv_errors.admit(Instant::now()) {
                            warn!(suppressed, "unnumbered peering: receive failed: {e}");
                        }
                        tokio::time::sleep(SCAN_PERIOD).await;
                    }
                }
            }
            _ = sleep_until(wake) => {}
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        while let Some(action) = discovery.poll_action(Instant::now()) {
            match action {
                LinkAction::SendAdvert {
                    ifindex,
                    source,
                    mac,
                } => {
                    if let Some(s) = &socket {
                        if let Err(e) = s.send_advert(ifindex, source, mac) {
                            tracing::debug!(ifindex, "cannot send router advertisement: {e}");
                        }
                    }
                }
                LinkAction::Neighbor { ifindex, addr, .. } => {
                    shared.link_neighbor(ifindex, addr, LinkSource::Advert);
                }
                LinkAction::LinkGone { .. } => {}
            }
        }
    }
}

async fn recv(
    socket: Option<&AdvertSocket>,
) -> std::io::Result<(u32, Ipv6Addr, super::router_advert::IcmpKind)> {
    match socket {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    const TEXT: &str = "\
fe8000000000000000fc00fffe000001 04 40 20 80     eth0
fd000000000000000000000000000002 04 40 00 82     eth0
fe80000000000000a8c1abfffe123456 07 40 20 80    veth1
fe80000000000000a8c1abfffe654321 08 40 20 c0    veth2
fe800000000000000000000000000009 09 40 20 88    veth3
00000000000000000000000000000001 01 80 10 80       lo
garbage line
";

    #[test]
    fn link_locals_are_read_and_unusable_ones_skipped() {
        let all = parse_if_inet6(TEXT);
        let names: Vec<&str> = all.iter().map(|l| l.name.as_str()).collect();
        // veth2 is tentative (DAD running), veth3's address failed DAD.
        assert_eq!(names, ["eth0", "veth1"]);
        assert_eq!(all[1].ifindex, 7);
        assert_eq!(
            all[1].addr,
            "fe80::a8c1:abff:fe12:3456".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn the_loopback_has_no_mac_but_is_read() {
        // Every namespace has `lo` (index 1), whose link-layer address is
        // six zero octets.
        assert_eq!(link_macs().get(&1), Some(&[0u8; 6]));
    }

    #[test]
    fn only_links_a_pattern_matches_are_kept() {
        let all = parse_if_inet6(TEXT);
        let links = matching_links(&all, &["veth*".into()]);
        assert_eq!(links.len(), 1);
        assert_eq!((links[0].ifindex, links[0].name.as_str()), (7, "veth1"));
        assert!(matching_links(&all, &[]).is_empty());
        assert_eq!(matching_links(&all, &["eth0".into()])[0].ifindex, 4);
    }
}
