//! Connection collision (RFC 4271 6.8) and graceful restart on TCP loss
//! (RFC 4724), against a scripted peer on loopback: the peer accepts our
//! dial *and* dials us, so the neighbor task holds two connections and
//! must keep the one opened by the side with the larger BGP Identifier,
//! closing the other with Cease / Connection Collision Resolution.
//! Also against the scripted peer: hold timer expiry on a silent peer
//! (Hold Timer Expired, graceful under RFC 8538) and an OPEN with the
//! wrong AS (OPEN Message Error / Bad Peer AS).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod peer_util;

use bgp_proto::wire::{decode_message, encode_to_bytes, split_frame, Decoded};
use bgp_proto::{
    Capability, Family, GracefulRestart, Message, Notification, OpenMessage, SessionContext,
};
use bgpd::config::Config;
use bgpd::peer::{PeerEvent, PeerManager};
use bytes::BytesMut;
use peer_util::free_port;
use std::net::Ipv4Addr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;

/// A scripted BGP speaker's end of one connection.
struct Raw {
    s: TcpStream,
    buf: BytesMut,
}

impl Raw {
    /// The next message, or `None` at EOF.
    async fn recv(&mut self) -> Option<Decoded> {
        let ctx = SessionContext::default();
        loop {
            if let Some(frame) = split_frame(&mut self.buf, &ctx).unwrap() {
                return Some(decode_message(frame, &ctx).unwrap());
            }
            let n = tokio::time::timeout(Duration::from_secs(10), self.s.read_buf(&mut self.buf))
                .await
                .expect("peer silent")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
        }
    }

    async fn send(&mut self, msg: Message) {
        let b = encode_to_bytes(&msg, &SessionContext::default()).unwrap();
        self.s.write_all(&b).await.unwrap();
    }
}

fn open(id: Ipv4Addr) -> OpenMessage {
    OpenMessage {
        version: 4,
        my_as: 65100,
        hold_time: 90,
        bgp_id: id,
        capabilities: vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::FourOctetAs(65100),
            Capability::GracefulRestart(GracefulRestart {
                restart_state: false,
                notification: true,
                restart_time: 120,
                families: vec![],
            }),
        ],
        other_params: vec![],
        extended_params: false,
    }
}

/// A neighbor on `base` (us 127.0.`base`.1, the scripted peer .2) that
/// listens and dials: the manager, its events, the addresses (ours, its
/// listening port, the peer's) and the peer's end of our dial after our
/// OPEN.
struct Listening {
    mgr: PeerManager,
    rx: mpsc::Receiver<PeerEvent>,
    ours: String,
    pa: u16,
    theirs: String,
    pb: u16,
    dialled: Raw,
}

async fn listening(base: u8) -> Listening {
    let ours = format!("127.0.{base}.1");
    let theirs = format!("127.0.{base}.2");
    let (pa, pb) = (free_port(&ours), free_port(&theirs));
    let config: Config = toml::from_str(&format!(
        r#"
        [router]
        asn = 65000
        router_id = "10.0.0.5"
        listen = ["{ours}:{pa}"]
        [[neighbor]]
        address = "{theirs}"
        remote_as = 65100
        port = {pb}
        local_address = "{ours}"
        "#
    ))
    .unwrap();
    let peer_listener = TcpListener::bind((theirs.as_str(), pb)).await.unwrap();
    let (tx, rx) = mpsc::channel(64);
    let mgr = PeerManager::spawn(&config, tx);
    // Our dial arrives; read our OPEN on it.
    let (s, _) = tokio::time::timeout(Duration::from_secs(10), peer_listener.accept())
        .await
        .unwrap()
        .unwrap();
    let mut dialled = Raw {
        s,
        buf: BytesMut::new(),
    };
    assert!(matches!(dialled.recv().await, Some(Decoded::Open(_))));
    Listening {
        mgr,
        rx,
        ours,
        pa,
        theirs,
        pb,
        dialled,
    }
}

async fn collide(peer_id: Ipv4Addr, base: u8, remote_wins: bool) {
    let Listening {
        mut mgr,
        mut rx,
        ours,
        pa,
        theirs,
        pb,
        dialled,
    } = listening(base).await;

    // The peer dials us too, from its address.
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(format!("{theirs}:0").parse().unwrap()).unwrap();
    let s = sock
        .connect(format!("{ours}:{pa}").parse().unwrap())
        .await
        .unwrap();
    let mut accepted = Raw {
        s,
        buf: BytesMut::new(),
    };
    assert!(matches!(accepted.recv().await, Some(Decoded::Open(_))));

    // The peer's OPEN on the connection it opened reveals its identifier.
    accepted.send(Message::Open(open(peer_id))).await;
    let (mut winner, mut loser) = if remote_wins {
        (accepted, dialled)
    } else {
        (dialled, accepted)
    };
    // The loser gets Cease / Connection Collision Resolution, then EOF.
    match loser.recv().await {
        Some(Decoded::Notification(n)) => assert_eq!((n.code, n.subcode), (6, 7), "{n:?}"),
        other => panic!("expected a Cease on the losing connection, got {other:?}"),
    }
    assert!(loser.recv().await.is_none());

    // The winner completes the session.
    if !remote_wins {
        winner.send(Message::Open(open(peer_id))).await;
    }
    assert!(matches!(winner.recv().await, Some(Decoded::Keepalive)));
    winner.send(Message::Keepalive).await;
    let ev = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match rx.recv().await.unwrap() {
                ev @ PeerEvent::Established { .. } => return ev,
                _ => continue,
            }
        }
    })
    .await
    .unwrap();
    let PeerEvent::Established { info, .. } = ev else {
        unreachable!()
    };
    assert_eq!(
        info.remote.port() == pb,
        !remote_wins,
        "kept the wrong connection"
    );
    assert_eq!(info.negotiated.peer_id, peer_id);

    // RFC 4724: the TCP connection going away without a NOTIFICATION is a
    // restart to help with, since GR was negotiated.
    drop(winner);
    let ev = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match rx.recv().await.unwrap() {
                ev @ PeerEvent::Down { .. } => return ev,
                _ => continue,
            }
        }
    })
    .await
    .unwrap();
    let PeerEvent::Down {
        notification,
        graceful,
        ..
    } = ev
    else {
        unreachable!()
    };
    assert_eq!(notification, None::<Notification>);
    assert!(graceful);
    mgr.shutdown(None).await;
}

#[tokio::test]
async fn collision_keeps_the_peers_connection_when_its_identifier_is_larger() {
    collide(Ipv4Addr::new(10, 0, 0, 9), 3, true).await;
}

#[tokio::test]
async fn collision_keeps_our_connection_when_our_identifier_is_larger() {
    collide(Ipv4Addr::new(10, 0, 0, 1), 4, false).await;
}

/// A neighbor on `base` that dials a scripted peer; returns the manager,
/// its events and the peer's end of the connection after our OPEN.
async fn dialled_session(base: u8, extra: &str) -> (PeerManager, mpsc::Receiver<PeerEvent>, Raw) {
    let ours = format!("127.0.{base}.1");
    let theirs = format!("127.0.{base}.2");
    let pb = free_port(&theirs);
    let config: Config = toml::from_str(&format!(
        r#"
        [router]
        asn = 65000
        router_id = "10.0.0.5"
        listen = []
        [[neighbor]]
        address = "{theirs}"
        remote_as = 65100
        port = {pb}
        local_address = "{ours}"
        {extra}
        "#
    ))
    .unwrap();
    let peer_listener = TcpListener::bind((theirs.as_str(), pb)).await.unwrap();
    let (tx, rx) = mpsc::channel(64);
    let mgr = PeerManager::spawn(&config, tx);
    let (s, _) = tokio::time::timeout(Duration::from_secs(10), peer_listener.accept())
        .await
        .unwrap()
        .unwrap();
    let mut raw = Raw {
        s,
        buf: BytesMut::new(),
    };
    assert!(matches!(raw.recv().await, Some(Decoded::Open(_))));
    (mgr, rx, raw)
}

#[tokio::test]
async fn hold_timer_expiry_on_a_silent_peer() {
    let (mut mgr, mut rx, mut raw) = dialled_session(8, "hold_time = 3").await;
    let mut o = open(Ipv4Addr::new(10, 0, 0, 9));
    o.hold_time = 3;
    raw.send(Message::Open(o)).await;
    raw.send(Message::Keepalive).await;
    let started = std::time::Instant::now();
    // Our KEEPALIVE answering the OPEN, then (keepalive 1 s) more of them;
    // the peer stays silent until we give up.
    let mut keepalives = 0;
    let n = loop {
        match raw.recv().await {
            Some(Decoded::Keepalive) => keepalives += 1,
            Some(Decoded::Notification(n)) => break n,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!((n.code, n.subcode), (4, 0));
    assert!(keepalives >= 2, "{keepalives}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(2900) && waited < Duration::from_secs(6),
        "{waited:?}"
    );
    let ev = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match rx.recv().await.unwrap() {
                ev @ PeerEvent::Down { .. } => return ev,
                _ => continue,
            }
        }
    })
    .await
    .unwrap();
    let PeerEvent::Down {
        notification,
        graceful,
        ..
    } = ev
    else {
        unreachable!()
    };
    assert_eq!(notification.map(|n| n.code), Some(4));
    // GR with the N bit was negotiated, and Hold Timer Expired is not a
    // Hard Reset (RFC 8538).
    assert!(graceful);
    let st = &mgr.peers()[0];
    assert!(st.counters.keepalives_out >= 2 && st.counters.notifications_out == 1);
    assert!(st
        .last_notification
        .as_deref()
        .unwrap()
        .contains("Hold Timer Expired"));
    mgr.shutdown(None).await;
}

#[tokio::test]
async fn open_with_the_wrong_as_is_refused_with_bad_peer_as() {
    let (mut mgr, _rx, mut raw) = dialled_session(9, "").await;
    let mut o = open(Ipv4Addr::new(10, 0, 0, 9));
    o.my_as = 65200;
    o.capabilities
        .retain(|c| !matches!(c, Capability::FourOctetAs(_)));
    raw.send(Message::Open(o)).await;
    match raw.recv().await {
        Some(Decoded::Notification(n)) => assert_eq!((n.code, n.subcode), (2, 2)),
        other => panic!("expected OPEN Message Error / Bad Peer AS, got {other:?}"),
    }
    assert!(raw.recv().await.is_none());
    let st = &mgr.peers()[0];
    assert!(
        st.last_error.as_deref().unwrap().contains("Bad Peer AS"),
        "{st:?}"
    );
    mgr.shutdown(None).await;
}

/// The next event that `pick` accepts, within 10 s.
async fn next_event(
    rx: &mut mpsc::Receiver<PeerEvent>,
    pick: impl Fn(&PeerEvent) -> bool,
) -> PeerEvent {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let ev = rx.recv().await.unwrap();
            if pick(&ev) {
                return ev;
            }
        }
    })
    .await
    .expect("event")
}

/// RFC 4724 4.2: a new connection from a peer whose session is
/// established with graceful restart ends the old session when an OPEN
/// arrives on it, not when it is merely opened: a bare connect from the
/// peer's address (anyone on its link can make one) must not end the
/// session.
#[tokio::test]
async fn a_bare_connect_keeps_a_gr_session_and_an_open_on_it_restarts_it() {
    let Listening {
        mut mgr,
        mut rx,
        ours,
        pa,
        theirs,
        dialled: mut first,
        ..
    } = listening(10).await;
    first
        .send(Message::Open(open(Ipv4Addr::new(10, 0, 0, 9))))
        .await;
    assert!(matches!(first.recv().await, Some(Decoded::Keepalive)));
    first.send(Message::Keepalive).await;
    next_event(&mut rx, |e| matches!(e, PeerEvent::Established { .. })).await;

    // A bare connect from the peer's address: nothing is sent on it.
    let dial = || async {
        let sock = TcpSocket::new_v4().unwrap();
        sock.bind(format!("{theirs}:0").parse().unwrap()).unwrap();
        sock.connect(format!("{ours}:{pa}").parse().unwrap())
            .await
            .unwrap()
    };
    let mut second = Raw {
        s: dial().await,
        buf: BytesMut::new(),
    };
    // It gets our OPEN, as any connection would...
    assert!(matches!(second.recv().await, Some(Decoded::Open(_))));
    // ...while the session goes on: no Down, still Established.
    let quiet = tokio::time::timeout(Duration::from_millis(1500), async {
        loop {
            if let Some(ev @ PeerEvent::Down { .. }) = rx.recv().await {
                return ev;
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "the session ended: {quiet:?}");
    assert_eq!(mgr.peers()[0].state, bgp_proto::fsm::State::Established);

    // The peer's OPEN on the new connection: it restarted. The old
    // session ends gracefully (routes kept stale), the new one comes up.
    second
        .send(Message::Open(open(Ipv4Addr::new(10, 0, 0, 9))))
        .await;
    let down = next_event(&mut rx, |e| matches!(e, PeerEvent::Down { .. })).await;
    assert!(
        matches!(down, PeerEvent::Down { graceful: true, .. }),
        "{down:?}"
    );
    assert!(matches!(second.recv().await, Some(Decoded::Keepalive)));
    second.send(Message::Keepalive).await;
    let up = next_event(&mut rx, |e| matches!(e, PeerEvent::Established { .. })).await;
    let PeerEvent::Established { info, .. } = up else {
        unreachable!()
    };
    assert_eq!(
        info.remote,
        second.s.local_addr().unwrap(),
        "the new connection carries the session"
    );
    // The old connection is closed without a NOTIFICATION.
    assert!(first.recv().await.is_none());
    mgr.shutdown(None).await;
}
