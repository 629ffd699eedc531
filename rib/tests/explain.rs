//! `Rib::explain`: the import verdict of every path, the decision step and
//! ECMP split of each path that is not best, and the export rule per peer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bgp_proto::msg::attributes::{Community, Origin};
use common::*;
use rib::decision::{EcmpSplit, Reason};
use rib::explain::{ExportVerdict, ImportVerdict, PathExplained};
use rib::policy::{Action, Match, Policy, PolicyRef, Term, Verdict};
use rib::policy_eval::DecidedBy;
use rib::{ExplainTarget, ExportRefusal, PeerInfo};

const LB: &str = "10.11.192.248/32";

fn path(e: &rib::Explanation, id: u32) -> &PathExplained {
    e.paths.iter().find(|p| p.peer == id).unwrap()
}

/// Import policy `nodes`: term[0] rejects AS 64999's routes, default accept.
fn nodes_policy() -> Policy {
    Policy {
        name: "nodes".into(),
        terms: vec![Term {
            matches: Match {
                as_path_contains: Some(64999),
                ..Match::default()
            },
            action: Action {
                result: Some(Verdict::Reject),
                ..Action::default()
            },
        }],
        default: Verdict::Accept,
    }
}

fn with_import(id: u32, asn: u32) -> PeerInfo {
    PeerInfo {
        import: PolicyRef::Named("nodes".into()),
        ..peer(id, asn)
    }
}

#[test]
fn every_path_says_why_it_is_where_it_is() {
    let mut rib = rib_with(vec![nodes_policy()], Vec::new());
    for p in [
        with_import(2, 65100),
        with_import(3, 65100),
        with_import(4, 65100),
        with_import(5, 65100),
        with_import(6, 65100),
        with_import(7, 65100),
        peer(8, 65200),
    ] {
        rib.add_peer(p).unwrap();
    }
    // 2, 3: equal (ECMP); 4: ORIGIN incomplete; 5: a longer path; 6: via
    // AS 64999 (rejected by term[0]); 7: our AS in the path (loop).
    announce(&mut rib, 2, LB, &[65100]);
    announce(&mut rib, 3, LB, &[65100]);
    let mut incomplete = attrs(&[65100]);
    incomplete.origin = Some(Origin::Incomplete);
    rib.update(4, [n(LB)], ip("172.18.0.4"), incomplete)
        .unwrap();
    announce(&mut rib, 5, LB, &[65100, 65101]);
    announce(&mut rib, 6, LB, &[65100, 64999]);
    announce(&mut rib, 7, LB, &[65100, 65000]);

    let e = rib
        .explain(ExplainTarget::Address(ip("10.11.192.248")))
        .unwrap();
    assert_eq!(e.prefix, p(LB));
    assert_eq!(e.paths.len(), 6);
    assert!(e.paths[0].best && e.paths[0].peer == 2, "best first");
    let accepted = ImportVerdict::Accepted {
        policy: "nodes".into(),
        by: DecidedBy::Default,
    };
    assert_eq!(path(&e, 2).import, accepted);
    let two = path(&e, 3);
    assert!(two.multipath && !two.best);
    assert_eq!(two.note.unwrap().lost_at, Some(Reason::RouterId));
    assert_eq!(two.note.unwrap().ecmp, None);
    let four = path(&e, 4);
    assert_eq!(four.note.unwrap().lost_at, Some(Reason::Origin));
    assert_eq!(
        four.note.unwrap().ecmp,
        Some(EcmpSplit::Step(Reason::Origin))
    );
    assert_eq!(path(&e, 5).note.unwrap().lost_at, Some(Reason::AsPathLen));
    let six = path(&e, 6);
    assert_eq!(
        six.import,
        ImportVerdict::Rejected {
            policy: "nodes".into(),
            by: DecidedBy::Term(0),
        }
    );
    assert!(six.note.is_none() && six.candidate.is_none());
    assert_eq!(path(&e, 7).import, ImportVerdict::AsPathLoop);

    // Exports: not back to the peers it came from, to AS 65200 via us.
    let to = |id: u32| e.exports.iter().find(|x| x.peer == id).unwrap();
    assert_eq!(
        to(2).verdict,
        ExportVerdict::Refused(ExportRefusal::LearnedFromIt)
    );
    match &to(8).verdict {
        ExportVerdict::Sent(r, by) => {
            assert_eq!(*by, DecidedBy::All);
            assert_eq!(r.next_hop, ip("172.18.0.5"));
            assert_eq!(r.attrs.as_path.to_string(), "65000 65100");
        }
        other => panic!("{other:?}"),
    }
    assert!(!to(8).advertised, "nothing drained yet");
    rib.drain_exports(8).unwrap();
    let e = rib.explain(ExplainTarget::Prefix(p(LB))).unwrap();
    assert!(e.exports.iter().find(|x| x.peer == 8).unwrap().advertised);
}

#[test]
fn no_export_and_ibgp_split_horizon_are_named() {
    let mut rib = rib();
    for p in [
        peer(2, 65100),
        peer(3, 65200),
        peer(4, LOCAL_AS),
        peer(5, LOCAL_AS),
    ] {
        rib.add_peer(p).unwrap();
    }
    let mut a = attrs(&[]);
    a.communities.push(Community::NO_EXPORT);
    rib.update(4, [n("10.1.0.0/16")], ip("172.18.0.4"), a)
        .unwrap();
    let e = rib
        .explain(ExplainTarget::Prefix(p("10.1.0.0/16")))
        .unwrap();
    let to = |id: u32| {
        e.exports
            .iter()
            .find(|x| x.peer == id)
            .unwrap()
            .verdict
            .clone()
    };
    let no_export = ExportVerdict::Refused(ExportRefusal::Community(Community::NO_EXPORT));
    assert_eq!(to(2), no_export);
    assert_eq!(to(3), no_export);
    assert_eq!(to(5), ExportVerdict::Refused(ExportRefusal::IbgpToIbgp));
    // Nothing covers 10.2.0.1.
    assert!(rib
        .explain(ExplainTarget::Address(ip("10.2.0.1")))
        .is_none());
}

#[test]
fn sender_side_loop_detection_keeps_a_route_from_a_peer_of_its_path() {
    let mut rib = rib();
    let checked = |id: u32, asn: u32| PeerInfo {
        sender_as_loop_check: true,
        ..peer(id, asn)
    };
    for p in [
        peer(2, 65100),
        checked(3, 65100),
        peer(4, 65100),
        checked(5, 65200),
    ] {
        rib.add_peer(p).unwrap();
    }
    announce(&mut rib, 2, LB, &[65100]);
    let sent = |rib: &mut rib::Rib, id: u32| !rib.drain_exports(id).unwrap().is_empty();
    assert!(!sent(&mut rib, 3), "AS 65100 is in the path");
    assert!(sent(&mut rib, 4), "without the check it is sent");
    assert!(sent(&mut rib, 5));
    let e = rib.explain(ExplainTarget::Prefix(p(LB))).unwrap();
    let to3 = e.exports.iter().find(|x| x.peer == 3).unwrap();
    assert_eq!(
        to3.verdict,
        ExportVerdict::Refused(ExportRefusal::PeerAsInPath(65100))
    );
}
