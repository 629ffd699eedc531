//! Policy validation and evaluation, through the RIB's import path and
//! directly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bgp_proto::msg::attributes::{Community, LargeCommunity};
use common::*;
use rib::policy::{Action, Match, Policy, PolicyRef, PrefixList, PrefixListEntry, Term, Verdict};
use rib::policy_eval::{CompiledPolicies, Outcome, PolicyError, PolicyId, RouteCtx};
use rib::{Rib, RibConfig, RibError};

fn term(matches: Match, action: Action) -> Term {
    Term { matches, action }
}

fn accept() -> Action {
    Action {
        result: Some(Verdict::Accept),
        ..Action::default()
    }
}

fn list(name: &str, entries: &[(&str, Option<u8>, Option<u8>)]) -> PrefixList {
    PrefixList {
        name: name.into(),
        entries: entries
            .iter()
            .map(|(p, ge, le)| PrefixListEntry {
                prefix: (*p).into(),
                ge: *ge,
                le: *le,
            })
            .collect(),
    }
}

fn policy(terms: Vec<Term>, default: Verdict) -> Policy {
    Policy {
        name: "p".into(),
        terms,
        default,
    }
}

fn compile(terms: Vec<Term>, lists: Vec<PrefixList>) -> CompiledPolicies {
    CompiledPolicies::new(&[policy(terms, Verdict::Reject)], &lists).unwrap()
}

fn eval(
    c: &CompiledPolicies,
    prefix: &str,
    nh: &str,
    a: &bgp_proto::msg::attributes::PathAttributes,
) -> Outcome {
    let id = c.resolve(&PolicyRef::Named("p".into())).unwrap();
    c.evaluate(
        id,
        RouteCtx {
            prefix: &p(prefix),
            next_hop: ip(nh),
            peer_as: 65100,
        },
        a,
        65100,
    )
}

#[test]
fn config_errors_are_reported() {
    let bad_prefix = Rib::new(RibConfig {
        prefix_lists: vec![list("l", &[("10.0.0.0/33", None, None)])],
        ..config()
    });
    assert!(matches!(
        bad_prefix,
        Err(RibError::Policy(PolicyError::BadPrefix { .. }))
    ));
    let bad_range = CompiledPolicies::new(&[], &[list("l", &[("10.0.0.0/16", Some(8), None)])]);
    assert!(matches!(bad_range, Err(PolicyError::BadLengthRange { .. })));
    let unknown_list = CompiledPolicies::new(
        &[policy(
            vec![term(
                Match {
                    prefix_list: Some("nope".into()),
                    ..Match::default()
                },
                accept(),
            )],
            Verdict::Reject,
        )],
        &[],
    );
    assert_eq!(
        unknown_list.unwrap_err(),
        PolicyError::UnknownPrefixList {
            policy: "p".into(),
            list: "nope".into()
        }
    );
    let bad_comm = CompiledPolicies::new(
        &[policy(
            vec![term(
                Match::default(),
                Action {
                    add_communities: Some(vec!["70000:1".into()]),
                    ..Action::default()
                },
            )],
            Verdict::Reject,
        )],
        &[],
    );
    assert!(matches!(bad_comm, Err(PolicyError::BadCommunity { .. })));
    let bad_family = compile_err(Match {
        family: Some("l2vpn".into()),
        ..Match::default()
    });
    assert!(matches!(bad_family, PolicyError::BadFamily { .. }));
    let dup = CompiledPolicies::new(
        &[
            policy(vec![], Verdict::Accept),
            policy(vec![], Verdict::Accept),
        ],
        &[],
    );
    assert!(matches!(dup, Err(PolicyError::DuplicateName { .. })));
    // A neighbor naming a missing policy.
    let mut rib = rib();
    let err = rib.add_peer(rib::PeerInfo {
        import: PolicyRef::Named("x".into()),
        ..peer(2, 1)
    });
    assert_eq!(
        err,
        Err(RibError::Policy(PolicyError::UnknownPolicy("x".into())))
    );
    // Error messages say what was expected.
    assert!(PolicyError::UnknownPolicy("x".into())
        .to_string()
        .contains("unknown policy"));
}

fn compile_err(m: Match) -> PolicyError {
    CompiledPolicies::new(&[policy(vec![term(m, accept())], Verdict::Reject)], &[]).unwrap_err()
}

#[test]
fn prefix_list_ge_le() {
    let lists = vec![list(
        "pods",
        &[
            ("10.241.0.0/16", Some(24), None),
            ("10.11.0.0/16", None, None),
            ("10.12.0.0/16", Some(24), Some(28)),
        ],
    )];
    let c = compile(
        vec![term(
            Match {
                prefix_list: Some("pods".into()),
                ..Match::default()
            },
            accept(),
        )],
        lists,
    );
    let a = attrs(&[65100]);
    let nh = "172.18.0.2";
    assert_eq!(eval(&c, "10.241.1.0/24", nh, &a), Outcome::Accept);
    assert_eq!(
        eval(&c, "10.241.1.7/32", nh, &a),
        Outcome::Accept,
        "ge alone runs to /32"
    );
    assert_eq!(eval(&c, "10.241.0.0/16", nh, &a), Outcome::Reject);
    assert_eq!(eval(&c, "10.11.0.0/16", nh, &a), Outcome::Accept, "exact");
    assert_eq!(eval(&c, "10.11.1.0/24", nh, &a), Outcome::Reject);
    assert_eq!(eval(&c, "10.12.1.16/28", nh, &a), Outcome::Accept);
    assert_eq!(eval(&c, "10.12.1.1/32", nh, &a), Outcome::Reject);
    assert_eq!(eval(&c, "fd00::/64", nh, &a), Outcome::Reject);
}

#[test]
fn as_path_community_next_hop_and_family_matches() {
    let c = compile(
        vec![
            term(
                Match {
                    origin_as: Some(vec![65200]),
                    ..Match::default()
                },
                accept(),
            ),
            term(
                Match {
                    as_path_contains: Some(65300),
                    ..Match::default()
                },
                accept(),
            ),
            term(
                Match {
                    communities: Some(vec!["65000:1".into(), "65000:1:2".into()]),
                    ..Match::default()
                },
                accept(),
            ),
            term(
                Match {
                    next_hop: Some(vec!["172.19.0.0/16".into()]),
                    ..Match::default()
                },
                accept(),
            ),
            term(
                Match {
                    family: Some("ipv6-unicast".into()),
                    ..Match::default()
                },
                accept(),
            ),
        ],
        vec![],
    );
    let nh = "172.18.0.2";
    assert_eq!(
        eval(&c, "10.0.0.0/8", nh, &attrs(&[65100, 65200])),
        Outcome::Accept
    );
    assert_eq!(
        eval(&c, "10.0.0.0/8", nh, &attrs(&[65200, 65100])),
        Outcome::Reject
    );
    assert_eq!(
        eval(&c, "10.0.0.0/8", nh, &attrs(&[65300, 65100])),
        Outcome::Accept
    );
    let mut a = attrs(&[65100]);
    a.communities = vec![Community(65000 << 16 | 1)];
    assert_eq!(
        eval(&c, "10.0.0.0/8", nh, &a),
        Outcome::Reject,
        "needs both communities"
    );
    a.large_communities = vec![LargeCommunity {
        global: 65000,
        local1: 1,
        local2: 2,
    }];
    assert_eq!(eval(&c, "10.0.0.0/8", nh, &a), Outcome::Accept);
    let plain = attrs(&[65100]);
    assert_eq!(
        eval(&c, "10.0.0.0/8", "172.19.0.3", &plain),
        Outcome::Accept
    );
    assert_eq!(
        eval(&c, "10.0.0.0/8", "::ffff:172.19.0.3", &plain),
        Outcome::Accept
    );
    assert_eq!(eval(&c, "fd00::/64", nh, &plain), Outcome::Accept);
    assert_eq!(eval(&c, "10.0.0.0/8", nh, &plain), Outcome::Reject);
}

#[test]
fn actions_apply_in_order_and_first_result_decides() {
    let c = compile(
        vec![
            term(
                Match::default(),
                Action {
                    set_local_pref: Some(200),
                    add_communities: Some(vec!["65000:100".into(), "no-export".into()]),
                    ..Action::default()
                },
            ),
            term(
                Match {
                    communities: Some(vec!["65000:100".into()]),
                    ..Match::default()
                },
                Action {
                    set_med: Some(5),
                    remove_communities: Some(vec!["no-export".into()]),
                    prepend: Some(2),
                    result: Some(Verdict::Accept),
                    ..Action::default()
                },
            ),
            term(
                Match::default(),
                Action {
                    set_med: Some(99),
                    result: Some(Verdict::Reject),
                    ..Action::default()
                },
            ),
        ],
        vec![],
    );
    let Outcome::Modified(m) = eval(&c, "10.0.0.0/8", "172.18.0.2", &attrs(&[65100])) else {
        panic!("expected modified attributes");
    };
    assert_eq!(m.local_pref, Some(200));
    assert_eq!(m.med, Some(5));
    assert_eq!(m.communities, vec![Community(65000 << 16 | 100)]);
    assert_eq!(m.as_path.to_string(), "65100 65100 65100");
}

#[test]
fn default_verdict_and_builtin_refs() {
    let c = CompiledPolicies::new(&[policy(vec![], Verdict::Accept)], &[]).unwrap();
    assert_eq!(
        eval(&c, "10.0.0.0/8", "1.1.1.1", &attrs(&[1])),
        Outcome::Accept
    );
    let r = RouteCtx {
        prefix: &p("10.0.0.0/8"),
        next_hop: ip("1.1.1.1"),
        peer_as: 65100,
    };
    assert_eq!(
        c.evaluate(PolicyId::All, r, &attrs(&[1]), 1),
        Outcome::Accept
    );
    assert_eq!(
        c.evaluate(PolicyId::None, r, &attrs(&[1]), 1),
        Outcome::Reject
    );
    let c = compile(
        vec![term(
            Match {
                as_path_contains: Some(9),
                ..Match::default()
            },
            accept(),
        )],
        vec![],
    );
    assert_eq!(
        eval(&c, "10.0.0.0/8", "1.1.1.1", &attrs(&[1])),
        Outcome::Reject,
        "default reject"
    );
}

#[test]
fn import_policy_in_the_rib() {
    let pol = Policy {
        name: "from-cluster1".into(),
        terms: vec![
            term(
                Match {
                    prefix_list: Some("pods".into()),
                    ..Match::default()
                },
                Action {
                    set_local_pref: Some(200),
                    result: Some(Verdict::Accept),
                    ..Action::default()
                },
            ),
            term(
                Match {
                    origin_as: Some(vec![65100]),
                    ..Match::default()
                },
                Action {
                    prepend: Some(1),
                    result: Some(Verdict::Accept),
                    ..Action::default()
                },
            ),
        ],
        default: Verdict::Reject,
    };
    let mut rib = rib_with(
        vec![pol],
        vec![list("pods", &[("10.241.0.0/16", Some(24), Some(24))])],
    );
    rib.add_peer(rib::PeerInfo {
        import: PolicyRef::Named("from-cluster1".into()),
        ..peer(2, 65100)
    })
    .unwrap();
    announce(&mut rib, 2, "10.241.1.0/24", &[65100]);
    announce(&mut rib, 2, "10.11.0.0/16", &[65100]);
    announce(&mut rib, 2, "10.99.0.0/16", &[65100, 65300]);
    let pod = rib.route(p("10.241.1.0/24")).unwrap();
    assert_eq!(pod.paths[0].route.attrs.local_pref, Some(200));
    let svc = rib.route(p("10.11.0.0/16")).unwrap();
    assert_eq!(
        svc.paths[0].route.attrs.as_path.to_string(),
        "65100 65100",
        "import prepends the peer AS"
    );
    assert!(rib.route(p("10.99.0.0/16")).is_none());
    let c = rib.peer_counts(2).unwrap()[0].1;
    assert_eq!((c.received, c.accepted), (3, 2));
    // Import "none".
    rib.add_peer(rib::PeerInfo {
        import: PolicyRef::None,
        ..peer(3, 65100)
    })
    .unwrap();
    announce(&mut rib, 3, "10.77.0.0/16", &[65100]);
    assert!(rib.route(p("10.77.0.0/16")).is_none());
}

#[test]
fn peer_as_matches_the_session_the_policy_runs_on() {
    let c = compile(
        vec![term(
            Match {
                peer_as: Some(vec![65101, 65102]),
                ..Match::default()
            },
            Action {
                result: Some(Verdict::Accept),
                ..Action::default()
            },
        )],
        vec![],
    );
    let id = c.resolve(&PolicyRef::Named("p".into())).unwrap();
    let pfx = p("10.0.0.0/8");
    let from = |peer_as| RouteCtx {
        prefix: &pfx,
        next_hop: ip("1.1.1.1"),
        peer_as,
    };
    assert_eq!(
        c.evaluate(id, from(65102), &attrs(&[1]), 1),
        Outcome::Accept
    );
    assert_eq!(
        c.evaluate(id, from(65100), &attrs(&[1]), 1),
        Outcome::Reject
    );
}

#[test]
fn peers_sharing_an_export_class_but_not_an_as_get_their_own_export() {
    let only_65101 = policy(
        vec![term(
            Match {
                peer_as: Some(vec![65101]),
                ..Match::default()
            },
            accept(),
        )],
        Verdict::Reject,
    );
    let mut rib = rib_with(vec![only_65101], vec![]);
    rib.add_peer(peer(2, 65100)).unwrap();
    // Same policy and local address: one export class but for their AS.
    for (id, asn) in [(3, 65101), (4, 65102)] {
        rib.add_peer(rib::PeerInfo {
            export: PolicyRef::Named("p".into()),
            ..peer(id, asn)
        })
        .unwrap();
    }
    announce(&mut rib, 2, "10.1.0.0/16", &[65100]);
    // Drained in either order, 65101 gets it and 65102 does not.
    let to4 = rib.drain_exports(4).unwrap();
    let to3 = rib.drain_exports(3).unwrap();
    assert_eq!(to3.len(), 1, "{to3:?}");
    assert!(to4.is_empty(), "{to4:?}");
}
