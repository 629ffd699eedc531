//! rtnetlink messages: route requests encoded by hand straight into one send
//! buffer (no allocation per route, many requests per `sendmsg`), replies
//! decoded with `netlink-packet-route`.
//!
//! ```text
//! struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid; }   16
//! struct rtmsg    { u8 family, dst_len, src_len, tos, table, protocol,
//!                   scope, type; u32 flags; }                            12
//! struct rtattr   { u16 len; u16 type; } + data, padded to 4
//! struct rtnexthop{ u16 len; u8 flags, hops; i32 ifindex; } + rtattrs    (in RTA_MULTIPATH)
//! struct rtvia    { u16 family; u8 addr[]; }                            (RTA_VIA)
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bgp_proto::Prefix;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteType, RouteVia,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::{FibOp, FibRoute, NextHop};

pub(super) const NLMSG_ERROR: u16 = 2;
pub(super) const NLMSG_DONE: u16 = 3;
pub(super) const RTM_NEWROUTE: u16 = 24;
pub(super) const RTM_DELROUTE: u16 = 25;
const RTM_GETROUTE: u16 = 26;

pub(super) const NLM_F_REQUEST: u16 = 0x1;
pub(super) const NLM_F_ACK: u16 = 0x4;
pub(super) const NLM_F_DUMP: u16 = 0x300;
const NLM_F_REPLACE: u16 = 0x100;
pub(super) const NLM_F_CREATE: u16 = 0x400;

const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const RT_TABLE_COMPAT: u8 = 252;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RT_SCOPE_NOWHERE: u8 = 255;
const RTN_UNSPEC: u8 = 0;
const RTN_UNICAST: u8 = 1;

const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_MULTIPATH: u16 = 9;
const RTA_TABLE: u16 = 15;
const RTA_VIA: u16 = 18;
const RTA_NH_ID: u16 = 30;

/// Length of `nlmsghdr`.
pub(super) const NLMSG_HDRLEN: usize = 16;

/// Table, metric and protocol of every route we write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RouteParams {
    /// Kernel table id.
    pub table: u32,
    /// `RTA_PRIORITY`.
    pub metric: u32,
    /// `rtm_protocol`.
    pub protocol: u8,
}

fn family_of(prefix: &Prefix) -> u8 {
    match prefix {
        Prefix::V4(_) => AF_INET,
        Prefix::V6(_) => AF_INET6,
    }
}

fn addr_bytes(ip: &IpAddr) -> ([u8; 16], usize) {
    let mut out = [0u8; 16];
    match ip {
        IpAddr::V4(a) => {
            out[..4].copy_from_slice(&a.octets());
            (out, 4)
        }
        IpAddr::V6(a) => (a.octets(), 16),
    }
}

/// Starts a message; returns its offset so [`finish`] can fill in the length.
pub(super) fn begin(buf: &mut Vec<u8>, kind: u16, flags: u16, seq: u32) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
    start
}

/// Writes the length of the nested block or message that begins at `start`.
fn set_len16(buf: &mut [u8], start: usize) {
    let len = u16::try_from(buf.len().saturating_sub(start)).unwrap_or(u16::MAX);
    if let Some(slot) = buf.get_mut(start..start + 2) {
        slot.copy_from_slice(&len.to_ne_bytes());
    }
}

pub(super) fn finish(buf: &mut [u8], start: usize) {
    let len = u32::try_from(buf.len().saturating_sub(start)).unwrap_or(u32::MAX);
    if let Some(slot) = buf.get_mut(start..start + 4) {
        slot.copy_from_slice(&len.to_ne_bytes());
    }
}

fn pad(buf: &mut Vec<u8>) {
    while buf.len() % 4 != 0 {
        buf.push(0);
    }
}

pub(super) fn attr(buf: &mut Vec<u8>, kind: u16, data: &[u8]) {
    let len = u16::try_from(4 + data.len()).unwrap_or(u16::MAX);
    buf.extend_from_slice(&len.to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(data);
    pad(buf);
}

/// `RTA_GATEWAY` when the gateway has the route's family, else `RTA_VIA`
/// (an IPv6 route via an IPv4 gateway, Linux >= 5.2).
fn gateway_attr(buf: &mut Vec<u8>, family: u8, gw: &IpAddr) {
    let (bytes, n) = addr_bytes(gw);
    let gw_family = if gw.is_ipv4() { AF_INET } else { AF_INET6 };
    let addr = bytes.get(..n).unwrap_or_default();
    if gw_family == family {
        attr(buf, RTA_GATEWAY, addr);
    } else {
        let mut via = Vec::with_capacity(2 + n);
        via.extend_from_slice(&u16::from(gw_family).to_ne_bytes());
        via.extend_from_slice(addr);
        attr(buf, RTA_VIA, &via);
    }
}

fn rtmsg(buf: &mut Vec<u8>, family: u8, dst_len: u8, table: u32, proto: u8, scope: u8, kind: u8) {
    let table8 = u8::try_from(table).unwrap_or(RT_TABLE_COMPAT);
    buf.extend_from_slice(&[family, dst_len, 0, 0, table8, proto, scope, kind]);
    buf.extend_from_slice(&0u32.to_ne_bytes());
}

/// Appends one `RTM_NEWROUTE` (replace or create) or `RTM_DELROUTE` request.
/// A replace names its next hops as the kernel nexthop object `nh_id` if
/// given, else carries them. Only requests with `ack` set are acknowledged
/// on success; a failure is always reported with the request's `seq`.
pub(super) fn push_op(
    buf: &mut Vec<u8>,
    op: &FibOp,
    nh_id: Option<u32>,
    params: &RouteParams,
    seq: u32,
    ack: bool,
) {
    let ack = if ack { NLM_F_ACK } else { 0 };
    match op {
        FibOp::Replace(route, _) => push_replace(buf, route, nh_id, params, seq, ack),
        FibOp::Delete(prefix) => {
            let start = begin(buf, RTM_DELROUTE, NLM_F_REQUEST | ack, seq);
            let family = family_of(prefix);
            rtmsg(
                buf,
                family,
                prefix.len(),
                params.table,
                params.protocol,
                RT_SCOPE_NOWHERE,
                RTN_UNSPEC,
            );
            common_attrs(buf, prefix, params);
            finish(buf, start);
        }
    }
}

fn common_attrs(buf: &mut Vec<u8>, prefix: &Prefix, params: &RouteParams) {
    attr(buf, RTA_TABLE, &params.table.to_ne_bytes());
    let (bytes, n) = addr_bytes(&prefix.addr());
    attr(buf, RTA_DST, bytes.get(..n).unwrap_or_default());
    attr(buf, RTA_PRIORITY, &params.metric.to_ne_bytes());
}

fn push_replace(
    buf: &mut Vec<u8>,
    route: &FibRoute,
    nh_id: Option<u32>,
    params: &RouteParams,
    seq: u32,
    ack: u16,
) {
    let flags = NLM_F_REQUEST | NLM_F_REPLACE | NLM_F_CREATE | ack;
    let start = begin(buf, RTM_NEWROUTE, flags, seq);
    let family = family_of(&route.prefix);
    let dst_len = route.prefix.len();
    rtmsg(
        buf,
        family,
        dst_len,
        params.table,
        params.protocol,
        RT_SCOPE_UNIVERSE,
        RTN_UNICAST,
    );
    common_attrs(buf, &route.prefix, params);
    if let Some(id) = nh_id {
        attr(buf, RTA_NH_ID, &id.to_ne_bytes());
        finish(buf, start);
        return;
    }
    match route.next_hops.as_slice() {
        [one] => {
            gateway_attr(buf, family, &one.gateway);
            if one.ifindex != 0 {
                attr(buf, RTA_OIF, &one.ifindex.to_ne_bytes());
            }
        }
        many => {
            let mp = buf.len();
            buf.extend_from_slice(&0u16.to_ne_bytes());
            buf.extend_from_slice(&RTA_MULTIPATH.to_ne_bytes());
            for nh in many {
                let rtnh = buf.len();
                buf.extend_from_slice(&0u16.to_ne_bytes());
                buf.extend_from_slice(&[0, 0]);
                buf.extend_from_slice(&nh.ifindex.to_ne_bytes());
                gateway_attr(buf, family, &nh.gateway);
                set_len16(buf, rtnh);
            }
            set_len16(buf, mp);
        }
    }
    finish(buf, start);
}

/// A dump request for our routes of one family, filtered in the kernel
/// (with strict checking on) by table and protocol.
pub(super) fn push_route_dump(buf: &mut Vec<u8>, family: u8, seq: u32, params: &RouteParams) {
    let start = begin(buf, RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq);
    rtmsg(
        buf,
        family,
        0,
        params.table,
        params.protocol,
        RT_SCOPE_UNIVERSE,
        RTN_UNSPEC,
    );
    attr(buf, RTA_TABLE, &params.table.to_ne_bytes());
    finish(buf, start);
}

/// Address families for dumps.
pub(super) const FAMILIES: [u8; 2] = [AF_INET, AF_INET6];

/// One decoded message of a reply.
pub(super) enum Reply {
    /// `NLMSG_ERROR` with errno 0 (an ACK) or a negative errno.
    Error { seq: u32, errno: i32 },
    /// `NLMSG_DONE` of a dump.
    Done,
    /// A route, address or link message.
    Msg(Box<RouteNetlinkMessage>),
    /// Something else (ignored).
    Other,
}

/// Splits a receive buffer into messages.
pub(super) fn split(mut data: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let len_bytes: [u8; 4] = data.get(..4)?.try_into().ok()?;
        let len = u32::from_ne_bytes(len_bytes) as usize;
        if len < NLMSG_HDRLEN || len > data.len() {
            data = &[];
            return None;
        }
        let (msg, rest) = data.split_at(len);
        data = rest
            .get(len.next_multiple_of(4) - len..)
            .unwrap_or_default();
        Some(msg)
    })
}

/// Header fields of one message: (type, seq).
pub(super) fn header(msg: &[u8]) -> Option<(u16, u32)> {
    let kind = u16::from_ne_bytes(msg.get(4..6)?.try_into().ok()?);
    let seq = u32::from_ne_bytes(msg.get(8..12)?.try_into().ok()?);
    Some((kind, seq))
}

/// Decodes one message. Errors and DONE are read by hand (cheap and never
/// failing); the rest through `netlink-packet-route`.
pub(super) fn decode(msg: &[u8]) -> Result<Reply, String> {
    let Some((kind, seq)) = header(msg) else {
        return Err("short netlink message".into());
    };
    match kind {
        NLMSG_ERROR => {
            let errno = msg
                .get(16..20)
                .and_then(|b| b.try_into().ok())
                .map(i32::from_ne_bytes)
                .ok_or("short NLMSG_ERROR")?;
            Ok(Reply::Error { seq, errno })
        }
        NLMSG_DONE => Ok(Reply::Done),
        _ => match NetlinkMessage::<RouteNetlinkMessage>::deserialize(msg) {
            Ok(NetlinkMessage {
                payload: NetlinkPayload::InnerMessage(m),
                ..
            }) => Ok(Reply::Msg(Box::new(m))),
            Ok(_) => Ok(Reply::Other),
            Err(e) => Err(e.to_string()),
        },
    }
}

fn route_addr(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn via_addr(v: &RouteVia) -> Option<IpAddr> {
    match v {
        RouteVia::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteVia::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn gateway_of(attrs: &[RouteAttribute]) -> Option<IpAddr> {
    attrs.iter().find_map(|a| match a {
        RouteAttribute::Gateway(g) => route_addr(g),
        RouteAttribute::Via(v) => via_addr(v),
        _ => None,
    })
}

/// The table of a route message (`RTA_TABLE` wins over the 8-bit field).
pub(super) fn route_table(m: &RouteMessage) -> u32 {
    m.attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(m.header.table))
}

/// The destination prefix of a route message.
pub(super) fn route_prefix(m: &RouteMessage) -> Option<Prefix> {
    let len = m.header.destination_prefix_length;
    let dst = m.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(d) => route_addr(d),
        _ => None,
    });
    match (dst, u8::from(m.header.address_family)) {
        (Some(d), _) => Prefix::new(d, len),
        (None, AF_INET) => Prefix::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        (None, AF_INET6) => Prefix::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
        _ => None,
    }
}

/// Whether a route message is one of ours (protocol, table, metric).
pub(super) fn is_ours(m: &RouteMessage, params: &RouteParams) -> bool {
    let metric = m
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Priority(p) => Some(*p),
            _ => None,
        })
        .unwrap_or(0);
    m.header.protocol == RouteProtocol::from(params.protocol)
        && m.header.kind == RouteType::Unicast
        && route_table(m) == params.table
        && metric == params.metric
}

/// Converts one of our route messages to a [`FibRoute`].
pub(super) fn to_fib_route(m: &RouteMessage) -> Option<FibRoute> {
    let prefix = route_prefix(m)?;
    let mut nhs = Vec::new();
    let oif = m.attributes.iter().find_map(|a| match a {
        RouteAttribute::Oif(i) => Some(*i),
        _ => None,
    });
    if let Some(gw) = gateway_of(&m.attributes) {
        nhs.push(NextHop {
            gateway: gw,
            ifindex: oif.unwrap_or(0),
        });
    }
    for a in &m.attributes {
        if let RouteAttribute::MultiPath(list) = a {
            for nh in list {
                if let Some(gw) = gateway_of(&nh.attributes) {
                    nhs.push(NextHop {
                        gateway: gw,
                        ifindex: nh.interface_index,
                    });
                }
            }
        }
    }
    Some(FibRoute::new(prefix, nhs))
}

/// The kernel nexthop object a route names (`RTA_NH_ID`), if any.
pub(super) fn route_nh_id(m: &RouteMessage) -> Option<u32> {
    m.attributes.iter().find_map(|a| match a {
        RouteAttribute::NhId(id) => Some(*id),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: RouteParams = RouteParams {
        table: 1000,
        metric: 32,
        protocol: 186,
    };

    fn roundtrip(op: &FibOp) -> RouteMessage {
        let mut buf = Vec::new();
        push_op(&mut buf, op, None, &P, 7, true);
        assert_eq!(buf.len() % 4, 0);
        let msgs: Vec<&[u8]> = split(&buf).collect();
        assert_eq!(msgs.len(), 1);
        let msg = msgs.first().copied().unwrap_or_default();
        assert_eq!(header(msg).map(|h| h.1), Some(7));
        match decode(msg).unwrap() {
            Reply::Msg(m) => match *m {
                RouteNetlinkMessage::NewRoute(r) | RouteNetlinkMessage::DelRoute(r) => r,
                other => panic!("unexpected {other:?}"),
            },
            _ => panic!("not a route message"),
        }
    }

    fn nh(gw: &str, ifindex: u32) -> NextHop {
        NextHop {
            gateway: gw.parse().unwrap(),
            ifindex,
        }
    }

    #[test]
    fn single_path_route_decodes_with_netlink_packet_route() {
        let route = FibRoute::new("10.241.0.0/24".parse().unwrap(), vec![nh("172.18.0.2", 3)]);
        let m = roundtrip(&FibOp::Replace(route.clone(), None));
        assert!(is_ours(&m, &P));
        assert_eq!(route_table(&m), 1000);
        assert_eq!(to_fib_route(&m), Some(route));
    }

    #[test]
    fn multipath_route_decodes_with_netlink_packet_route() {
        let route = FibRoute::new(
            "10.11.192.248/32".parse().unwrap(),
            vec![
                nh("172.18.0.2", 2),
                nh("172.18.0.3", 2),
                nh("172.18.0.4", 2),
            ],
        );
        let m = roundtrip(&FibOp::Replace(route.clone(), None));
        assert!(m
            .attributes
            .iter()
            .any(|a| matches!(a, RouteAttribute::MultiPath(v) if v.len() == 3)));
        assert_eq!(to_fib_route(&m), Some(route));
    }

    #[test]
    fn ipv6_route_via_ipv4_uses_rta_via() {
        let route = FibRoute::new("fd00::/64".parse().unwrap(), vec![nh("172.18.0.2", 0)]);
        let m = roundtrip(&FibOp::Replace(route.clone(), None));
        assert!(m.attributes.iter().any(
            |a| matches!(a, RouteAttribute::Via(RouteVia::Inet(v)) if v.octets() == [172, 18, 0, 2])
        ));
        assert_eq!(to_fib_route(&m), Some(route));
    }

    #[test]
    fn delete_carries_protocol_table_and_metric() {
        let m = roundtrip(&FibOp::Delete("2001:db8::/32".parse().unwrap()));
        assert_eq!(m.header.protocol, RouteProtocol::Bgp);
        assert_eq!(route_prefix(&m), "2001:db8::/32".parse().ok());
        assert!(m.attributes.contains(&RouteAttribute::Priority(32)));
    }

    #[test]
    fn split_stops_on_garbage() {
        let mut buf = Vec::new();
        push_op(
            &mut buf,
            &FibOp::Delete("10.0.0.0/8".parse().unwrap()),
            None,
            &P,
            1,
            false,
        );
        buf.extend_from_slice(&[0xff, 0xff, 0, 0, 1]);
        assert_eq!(split(&buf).count(), 1);
        assert!(decode(&[1, 2, 3]).is_err());
    }
}
