//! Unit tests of every transition and OPEN check, on a fake clock.

use super::*;
use crate::msg::notification::open_subcode;
use crate::msg::open::AS_TRANS;
use crate::msg::{AddPathMode, GracefulRestart, GracefulRestartFamily};
use crate::types::Family;

const LOCAL_ID: Ipv4Addr = Ipv4Addr::new(172, 18, 0, 5);
const PEER_ID: Ipv4Addr = Ipv4Addr::new(172, 18, 0, 2);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn cfg() -> FsmConfig {
    FsmConfig::new(65000, LOCAL_ID, 65100)
}

fn peer_open() -> OpenMessage {
    OpenMessage {
        version: 4,
        my_as: 65100,
        hold_time: 90,
        bgp_id: PEER_ID,
        capabilities: vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::Multiprotocol(Family::IPV6_UNICAST),
            Capability::RouteRefresh,
            Capability::FourOctetAs(65100),
        ],
        other_params: vec![],
        extended_params: false,
    }
}

fn sent_notification(actions: &[Action]) -> Option<Notification> {
    actions.iter().find_map(|a| match a {
        Action::Close(Some(n)) => Some(n.clone()),
        _ => None,
    })
}

/// An FSM driven to OpenSent at `t0`.
fn open_sent(cfg: FsmConfig, t0: Instant) -> Fsm {
    let mut f = Fsm::new(cfg);
    f.handle(t0, Event::ManualStart);
    f.handle(t0, Event::TcpConnected);
    assert_eq!(f.state(), State::OpenSent);
    f
}

fn established(t0: Instant) -> Fsm {
    let mut f = open_sent(cfg(), t0);
    f.handle(t0, Event::Received(Incoming::Open(peer_open())));
    let a = f.handle(t0, Event::Received(Incoming::Keepalive));
    assert!(a.iter().any(|a| matches!(a, Action::Established(_))));
    f
}

fn open_error(open: OpenMessage) -> Notification {
    open_error_with(cfg(), open)
}

fn open_error_with(cfg: FsmConfig, open: OpenMessage) -> Notification {
    let t0 = Instant::now();
    let mut f = open_sent(cfg, t0);
    let a = f.handle(t0, Event::Received(Incoming::Open(open)));
    assert_eq!(f.state(), State::Idle);
    assert!(a.iter().any(|a| matches!(
        a,
        Action::Down {
            reason: DownReason::NotificationSent(_),
            established: false
        }
    )));
    sent_notification(&a).unwrap()
}

#[test]
fn new_fsm_is_idle_and_stopped() {
    let f = Fsm::new(cfg());
    assert_eq!(f.state(), State::Idle);
    assert!(f.is_stopped());
    assert_eq!(f.poll_timeout(), None);
}

#[test]
fn start_dials_and_arms_connect_retry() {
    let t0 = Instant::now();
    let mut f = Fsm::new(cfg());
    let a = f.handle(t0, Event::ManualStart);
    assert_eq!(
        a,
        vec![
            Action::Connect,
            Action::StateChange {
                from: State::Idle,
                to: State::Connect
            }
        ]
    );
    let retry = f.timer(Timer::ConnectRetry).unwrap();
    assert!(retry >= t0 + Duration::from_millis(3750) && retry <= t0 + secs(5));
}

#[test]
fn passive_start_waits_in_active() {
    let t0 = Instant::now();
    let mut c = cfg();
    c.passive = true;
    let mut f = Fsm::new(c);
    let a = f.handle(t0, Event::ManualStart);
    assert_eq!(
        a,
        vec![Action::StateChange {
            from: State::Idle,
            to: State::Active
        }]
    );
    assert_eq!(f.poll_timeout(), None);
    // An accepted connection moves it on.
    let a = f.handle(t0, Event::TcpConnected);
    assert!(matches!(a.first(), Some(Action::Send(Message::Open(_)))));
    assert_eq!(f.state(), State::OpenSent);
}

#[test]
fn connect_retry_redials() {
    let t0 = Instant::now();
    let mut f = Fsm::new(cfg());
    f.handle(t0, Event::ManualStart);
    let a = f.handle_timeout(t0 + secs(5));
    assert_eq!(a, vec![Action::Connect]);
    assert_eq!(f.state(), State::Connect);
    assert!(f.timer(Timer::ConnectRetry).unwrap() > t0 + secs(5));
}

#[test]
fn failed_dial_goes_active_then_redials_on_retry() {
    let t0 = Instant::now();
    let mut f = Fsm::new(cfg());
    f.handle(t0, Event::ManualStart);
    f.handle(t0, Event::TcpFailed);
    assert_eq!(f.state(), State::Active);
    let a = f.handle_timeout(t0 + secs(5));
    assert!(a.contains(&Action::Connect));
    assert_eq!(f.state(), State::Connect);
}

#[test]
fn connected_sends_open_with_large_hold_timer() {
    let t0 = Instant::now();
    let mut f = Fsm::new(cfg());
    f.handle(t0, Event::ManualStart);
    let a = f.handle(t0, Event::TcpConnected);
    let Some(Action::Send(Message::Open(open))) = a.first() else {
        panic!("{a:?}")
    };
    assert_eq!(open.version, 4);
    assert_eq!(open.my_as, 65000);
    assert_eq!(open.hold_time, 90);
    assert_eq!(open.bgp_id, LOCAL_ID);
    assert!(open.capabilities.contains(&Capability::FourOctetAs(65000)));
    assert_eq!(f.timer(Timer::Hold), Some(t0 + secs(240)));
    assert_eq!(f.timer(Timer::ConnectRetry), None);
}

#[test]
fn four_octet_local_as_sends_as_trans() {
    let open = FsmConfig::new(4_200_000_000, LOCAL_ID, 65100).local_open();
    assert_eq!(open.my_as, AS_TRANS);
    assert_eq!(open.asn(), 4_200_000_000);
}

#[test]
fn valid_open_sends_keepalive_and_negotiates_timers() {
    let t0 = Instant::now();
    let mut c = cfg();
    c.hold_time = 180;
    let mut f = open_sent(c, t0);
    let t1 = t0 + secs(1);
    let a = f.handle(t1, Event::Received(Incoming::Open(peer_open())));
    assert_eq!(a.first(), Some(&Action::Send(Message::Keepalive)));
    assert_eq!(f.state(), State::OpenConfirm);
    let n = f.negotiated().unwrap();
    assert_eq!((n.hold_time, n.keepalive), (90, 30));
    assert_eq!(f.timer(Timer::Hold), Some(t1 + secs(90)));
    let ka = f.timer(Timer::Keepalive).unwrap();
    assert!(ka >= t1 + Duration::from_millis(22_500) && ka <= t1 + secs(30));
}

#[test]
fn keepalive_in_openconfirm_establishes() {
    let t0 = Instant::now();
    let mut f = open_sent(cfg(), t0);
    f.handle(t0, Event::Received(Incoming::Open(peer_open())));
    let t1 = t0 + secs(2);
    let a = f.handle(t1, Event::Received(Incoming::Keepalive));
    assert_eq!(f.state(), State::Established);
    let n = a
        .iter()
        .find_map(|a| match a {
            Action::Established(n) => Some(n.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(n.peer_asn, 65100);
    assert_eq!(n.peer_id, PEER_ID);
    assert_eq!(n.families, vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
    assert!(n.four_octet_as && n.route_refresh && !n.enhanced_rr);
    assert_eq!(f.established_at(), Some(t1));
    assert_eq!(f.timer(Timer::Hold), Some(t1 + secs(90)));
}

#[test]
fn keepalive_timer_sends_keepalives_in_established() {
    let t0 = Instant::now();
    let mut f = established(t0);
    let first = f.timer(Timer::Keepalive).unwrap();
    let a = f.handle_timeout(first);
    assert_eq!(a, vec![Action::Send(Message::Keepalive)]);
    assert!(f.timer(Timer::Keepalive).unwrap() > first);
    assert_eq!(f.state(), State::Established);
}

#[test]
fn messages_restart_the_hold_timer() {
    let t0 = Instant::now();
    let mut f = established(t0);
    let t1 = t0 + secs(60);
    f.handle(t1, Event::Received(Incoming::Update));
    assert_eq!(f.timer(Timer::Hold), Some(t1 + secs(90)));
    let t2 = t1 + secs(60);
    f.handle(t2, Event::Received(Incoming::Keepalive));
    assert_eq!(f.timer(Timer::Hold), Some(t2 + secs(90)));
    assert_eq!(f.state(), State::Established);
}

#[test]
fn hold_timer_expiry_sends_notification_and_idles() {
    let t0 = Instant::now();
    let mut f = established(t0);
    let a = f.handle(t0 + secs(90), Event::TimerExpired(Timer::Hold));
    assert_eq!(sent_notification(&a), Some(Notification::new(4, 0, [])));
    assert!(a.contains(&Action::Down {
        reason: DownReason::NotificationSent(Notification::new(4, 0, [])),
        established: true
    }));
    assert_eq!(f.state(), State::Idle);
    assert!(!f.is_stopped());
    assert_eq!(f.timer(Timer::IdleHold), Some(t0 + secs(91)));
    assert_eq!(f.timer(Timer::Keepalive), None);
    assert!(f.negotiated().is_none());
}

#[test]
fn hold_timer_in_opensent_is_four_minutes() {
    let t0 = Instant::now();
    let mut f = open_sent(cfg(), t0);
    assert!(f.handle_timeout(t0 + secs(239)).is_empty());
    let a = f.handle_timeout(t0 + secs(240));
    assert_eq!(sent_notification(&a), Some(Notification::new(4, 0, [])));
}

#[test]
fn idle_hold_restarts_the_session() {
    let t0 = Instant::now();
    let mut f = established(t0);
    f.handle(t0, Event::TcpClosed);
    assert_eq!(f.state(), State::Idle);
    let a = f.handle_timeout(t0 + secs(1));
    assert!(a.contains(&Action::Connect));
    assert_eq!(f.state(), State::Connect);
}

#[test]
fn idle_hold_doubles_up_to_the_cap_and_resets_after_stable_session() {
    let mut t = Instant::now();
    let mut f = Fsm::new(cfg());
    f.handle(t, Event::ManualStart);
    let mut holds = Vec::new();
    for _ in 0..10 {
        f.handle(t, Event::TcpConnected);
        f.handle(t, Event::TcpClosed);
        let at = f.timer(Timer::IdleHold).unwrap();
        holds.push((at - t).as_secs());
        t = at;
        f.handle_timeout(t);
        assert_eq!(f.state(), State::Connect);
    }
    assert_eq!(holds, vec![1, 2, 4, 8, 16, 32, 64, 120, 120, 120]);
    // A session that stays up for a minute resets the backoff.
    f.handle(t, Event::TcpConnected);
    f.handle(t, Event::Received(Incoming::Open(peer_open())));
    f.handle(t, Event::Received(Incoming::Keepalive));
    t += secs(61);
    f.handle(t, Event::Received(Incoming::Keepalive));
    f.handle(t, Event::TcpClosed);
    assert_eq!(f.timer(Timer::IdleHold), Some(t + secs(1)));
}

#[test]
fn tcp_close_in_established_is_down_without_notification() {
    let t0 = Instant::now();
    let mut f = established(t0);
    let a = f.handle(t0, Event::TcpClosed);
    assert_eq!(a.first(), Some(&Action::Close(None)));
    assert!(a.contains(&Action::Down {
        reason: DownReason::TcpClosed,
        established: true
    }));
}

#[test]
fn notification_received_closes_without_sending() {
    let t0 = Instant::now();
    let mut f = established(t0);
    let n = Notification::new(6, 2, []);
    let a = f.handle(t0, Event::Received(Incoming::Notification(n.clone())));
    assert_eq!(sent_notification(&a), None);
    assert!(a.contains(&Action::Down {
        reason: DownReason::NotificationReceived(n),
        established: true
    }));
    assert_eq!(f.state(), State::Idle);
}

#[test]
fn manual_stop_sends_cease_and_stays_idle() {
    let t0 = Instant::now();
    let mut f = established(t0);
    let a = f.handle(t0, Event::ManualStop(None));
    let n = sent_notification(&a).unwrap();
    assert_eq!((n.code, n.subcode), (6, 2));
    assert!(f.is_stopped());
    assert_eq!(f.poll_timeout(), None);
    // Starting again works.
    f.handle(t0, Event::ManualStart);
    assert_eq!(f.state(), State::Connect);
}

#[test]
fn manual_stop_while_dialling_just_closes() {
    let t0 = Instant::now();
    let mut f = Fsm::new(cfg());
    f.handle(t0, Event::ManualStart);
    let a = f.handle(t0, Event::ManualStop(None));
    assert_eq!(a.first(), Some(&Action::Close(None)));
    assert_eq!(f.state(), State::Idle);
}

#[test]
fn idle_refuses_connections() {
    let t0 = Instant::now();
    let mut f = Fsm::new(cfg());
    assert_eq!(f.handle(t0, Event::TcpConnected), vec![Action::Close(None)]);
    assert_eq!(f.state(), State::Idle);
}

#[test]
fn unexpected_messages_are_fsm_errors() {
    let t0 = Instant::now();
    let mut f = open_sent(cfg(), t0);
    let a = f.handle(t0, Event::Received(Incoming::Update));
    assert_eq!(sent_notification(&a), Some(Notification::new(5, 1, [])));

    let mut f = open_sent(cfg(), t0);
    f.handle(t0, Event::Received(Incoming::Open(peer_open())));
    let a = f.handle(t0, Event::Received(Incoming::Update));
    assert_eq!(sent_notification(&a), Some(Notification::new(5, 2, [])));

    let mut f = established(t0);
    let a = f.handle(t0, Event::Received(Incoming::Open(peer_open())));
    assert_eq!(sent_notification(&a), Some(Notification::new(5, 3, [])));
}

#[test]
fn decode_error_sends_its_notification() {
    let t0 = Instant::now();
    let mut f = established(t0);
    let n = Notification::new(1, 2, [0, 3]);
    let a = f.handle(t0, Event::DecodeError(n.clone()));
    assert_eq!(sent_notification(&a), Some(n));
    assert_eq!(f.state(), State::Idle);
}

#[test]
fn send_hold_timer_expiry_ends_the_session_with_code_8_and_restarts_it() {
    let t0 = Instant::now();
    let mut f = established(t0);
    let a = f.handle(t0, Event::SendHoldTimerExpired);
    assert_eq!(sent_notification(&a), Some(Notification::new(8, 0, [])));
    assert!(a.iter().any(|x| matches!(
        x,
        Action::Down {
            established: true,
            ..
        }
    )));
    assert_eq!(f.state(), State::Idle);
    assert!(!f.is_stopped(), "not an administrative stop");
    assert_eq!(
        Notification::new(8, 0, []).describe(),
        "Send Hold Timer Expired / subcode 0"
    );
}

#[test]
fn open_bad_version_names_version_4_in_two_octets() {
    let mut o = peer_open();
    o.version = 5;
    assert_eq!(
        open_error(o),
        Notification::new(2, open_subcode::UNSUPPORTED_VERSION, [0, 4])
    );
}

#[test]
fn open_bad_peer_as() {
    let mut o = peer_open();
    o.my_as = 65200;
    o.capabilities
        .retain(|c| !matches!(c, Capability::FourOctetAs(_)));
    assert_eq!(
        open_error(o),
        Notification::new(2, open_subcode::BAD_PEER_AS, [])
    );

    // My AS and the capability disagree.
    let mut o = peer_open();
    o.my_as = 65101;
    assert_eq!(open_error(o).subcode, open_subcode::BAD_PEER_AS);

    // AS_TRANS without the capability is AS 23456, not the configured AS.
    let mut o = peer_open();
    o.my_as = AS_TRANS;
    o.capabilities
        .retain(|c| !matches!(c, Capability::FourOctetAs(_)));
    assert_eq!(open_error(o).subcode, open_subcode::BAD_PEER_AS);
}

#[test]
fn open_with_as_trans_and_four_octet_capability_is_accepted() {
    let t0 = Instant::now();
    let mut f = open_sent(FsmConfig::new(65000, LOCAL_ID, 4_200_000_001), t0);
    let mut o = peer_open();
    o.my_as = AS_TRANS;
    o.capabilities = vec![Capability::FourOctetAs(4_200_000_001)];
    f.handle(t0, Event::Received(Incoming::Open(o)));
    assert_eq!(f.state(), State::OpenConfirm);
    assert_eq!(f.negotiated().unwrap().peer_asn, 4_200_000_001);
    // No multiprotocol capability: IPv4 unicast only.
    assert_eq!(f.negotiated().unwrap().families, vec![Family::IPV4_UNICAST]);
}

#[test]
fn open_bad_bgp_identifier() {
    let mut o = peer_open();
    o.bgp_id = Ipv4Addr::UNSPECIFIED;
    assert_eq!(
        open_error(o),
        Notification::new(2, open_subcode::BAD_BGP_IDENTIFIER, [])
    );

    // RFC 6286: the same identifier is an error for an internal peer only.
    let mut ibgp = FsmConfig::new(65000, LOCAL_ID, 65000);
    ibgp.capabilities.clear();
    let mut o = peer_open();
    o.my_as = 65000;
    o.capabilities = vec![Capability::FourOctetAs(65000)];
    o.bgp_id = LOCAL_ID;
    assert_eq!(
        open_error_with(ibgp, o).subcode,
        open_subcode::BAD_BGP_IDENTIFIER
    );

    let t0 = Instant::now();
    let mut f = open_sent(cfg(), t0);
    let mut o = peer_open();
    o.bgp_id = LOCAL_ID;
    f.handle(t0, Event::Received(Incoming::Open(o)));
    assert_eq!(f.state(), State::OpenConfirm);
}

#[test]
fn open_hold_time_one_or_two_is_refused() {
    for h in [1, 2] {
        let mut o = peer_open();
        o.hold_time = h;
        assert_eq!(
            open_error(o),
            Notification::new(2, open_subcode::UNACCEPTABLE_HOLD_TIME, [])
        );
    }
}

#[test]
fn open_hold_time_zero_is_refused_unless_configured() {
    let mut o = peer_open();
    o.hold_time = 0;
    assert_eq!(
        open_error(o),
        Notification::new(2, open_subcode::UNACCEPTABLE_HOLD_TIME, [])
    );
}

#[test]
fn open_hold_time_below_the_minimum_is_refused() {
    let mut c = cfg();
    c.min_hold_time = 10;
    let mut o = peer_open();
    o.hold_time = 9;
    assert_eq!(
        open_error_with(c.clone(), o.clone()),
        Notification::new(2, open_subcode::UNACCEPTABLE_HOLD_TIME, [])
    );
    o.hold_time = 10;
    let t0 = Instant::now();
    let mut f = open_sent(c, t0);
    f.handle(t0, Event::Received(Incoming::Open(o)));
    assert_eq!(f.state(), State::OpenConfirm);
}

#[test]
fn open_hold_time_zero_disables_hold_and_keepalive_when_allowed() {
    let t0 = Instant::now();
    let mut c = cfg();
    c.min_hold_time = 0;
    let mut f = open_sent(c, t0);
    let mut o = peer_open();
    o.hold_time = 0;
    f.handle(t0, Event::Received(Incoming::Open(o)));
    f.handle(t0, Event::Received(Incoming::Keepalive));
    assert_eq!(f.state(), State::Established);
    assert_eq!(f.poll_timeout(), None);
    assert_eq!(f.negotiated().unwrap().keepalive, 0);
}

#[test]
fn missing_required_capability_is_unsupported_capability() {
    let mut c = cfg();
    c.required_capabilities = vec![64];
    let n = open_error_with(c.clone(), peer_open());
    assert_eq!(
        n,
        Notification::new(2, open_subcode::UNSUPPORTED_CAPABILITY, [64, 0])
    );
    // By default nothing is required.
    c.required_capabilities.clear();
    let t0 = Instant::now();
    let mut f = open_sent(c, t0);
    f.handle(t0, Event::Received(Incoming::Open(peer_open())));
    assert_eq!(f.state(), State::OpenConfirm);
}

#[test]
fn configured_keepalive_is_capped_at_a_third_of_hold() {
    assert_eq!(negotiate::keepalive_for(90, None), 30);
    assert_eq!(negotiate::keepalive_for(90, Some(10)), 10);
    assert_eq!(negotiate::keepalive_for(9, Some(10)), 3);
    assert_eq!(negotiate::keepalive_for(0, Some(10)), 0);
    assert_eq!(negotiate::keepalive_for(3, None), 1);
}

fn gr(n: bool, families: &[Family]) -> Capability {
    Capability::GracefulRestart(GracefulRestart {
        restart_state: false,
        notification: n,
        restart_time: 120,
        families: families
            .iter()
            .map(|f| GracefulRestartFamily {
                family: *f,
                forwarding_preserved: true,
            })
            .collect(),
    })
}

#[test]
fn negotiation_intersects_capabilities() {
    let mut local = cfg().local_open();
    local.capabilities.extend([
        Capability::EnhancedRouteRefresh,
        Capability::ExtendedMessage,
        Capability::AddPath(vec![
            (Family::IPV4_UNICAST, AddPathMode::Receive),
            (Family::IPV6_UNICAST, AddPathMode::Both),
        ]),
        Capability::ExtendedNextHop(vec![crate::msg::ExtendedNextHop {
            family: Family::IPV4_UNICAST,
            next_hop_afi: 2,
        }]),
        gr(true, &[]),
    ]);
    let mut peer = peer_open();
    peer.capabilities = vec![
        Capability::Multiprotocol(Family::IPV6_UNICAST),
        Capability::Multiprotocol(Family::IPV4_UNICAST),
        Capability::Multiprotocol(Family::new(25, 70)),
        Capability::RouteRefreshCisco,
        Capability::EnhancedRouteRefresh,
        Capability::AddPath(vec![
            (Family::IPV4_UNICAST, AddPathMode::Both),
            (Family::IPV6_UNICAST, AddPathMode::Receive),
        ]),
        gr(true, &[Family::IPV4_UNICAST]),
    ];
    let n = negotiate(&local, &peer, None);
    assert_eq!(n.families, vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
    assert!(!n.four_octet_as && !n.context.four_octet_as);
    assert!(n.route_refresh && n.enhanced_rr);
    assert!(!n.extended_message);
    assert_eq!(n.context.add_path_receive, vec![Family::IPV4_UNICAST]);
    assert_eq!(n.context.add_path_send, vec![Family::IPV6_UNICAST]);
    assert!(n.context.extended_next_hop.is_empty());
    let pgr = n.peer_gr.clone().unwrap();
    assert_eq!(pgr.families.len(), 1);
    assert!(n.gr_notification);
    assert_eq!(n.peer_asn, 65100);
}

#[test]
fn graceful_decision_follows_rfc_4724_and_8538() {
    let mut local = cfg().local_open();
    local.capabilities.push(gr(true, &[]));
    let mut peer = peer_open();
    peer.capabilities.push(gr(true, &[Family::IPV4_UNICAST]));
    let cease = Notification::new(6, 2, []);
    let hard = Notification::new(6, 9, []);

    let n = negotiate(&local, &peer, None);
    assert!(n.is_graceful(None));
    assert!(n.is_graceful(Some(&cease)));
    assert!(!n.is_graceful(Some(&hard)));

    // Without the N bit on both sides, a NOTIFICATION ends GR.
    let mut peer_no_n = peer.clone();
    peer_no_n.capabilities.pop();
    peer_no_n
        .capabilities
        .push(gr(false, &[Family::IPV4_UNICAST]));
    let n = negotiate(&local, &peer_no_n, None);
    assert!(n.is_graceful(None));
    assert!(!n.is_graceful(Some(&cease)));

    // Without GR from the peer, nothing is graceful.
    let n = negotiate(&local, &peer_open(), None);
    assert!(n.peer_gr.is_none());
    assert!(!n.is_graceful(None));
}

#[test]
fn extended_next_hop_needs_both_sides() {
    let e = crate::msg::ExtendedNextHop {
        family: Family::IPV4_UNICAST,
        next_hop_afi: 2,
    };
    let mut local = cfg().local_open();
    local
        .capabilities
        .push(Capability::ExtendedNextHop(vec![e]));
    let mut peer = peer_open();
    peer.capabilities.push(Capability::ExtendedNextHop(vec![e]));
    let n = negotiate(&local, &peer, None);
    assert_eq!(n.context.extended_next_hop, vec![e]);
}

#[path = "tests_gate.rs"]
mod gate;
