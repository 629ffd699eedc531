//! Reloads: applied, refused, and what they ask of the neighbors.

use super::*;
use crate::ctl::proto::{ReloadResult, Response};

fn reload(h: &mut H, toml: &str) -> (ReloadResult, Vec<Output>) {
    h.feed(Input::Reload {
        call: Some(1),
        config: Ok(Box::new(lab_config(toml))),
    });
    answer(h)
}

fn answer(h: &mut H) -> (ReloadResult, Vec<Output>) {
    let outs = h.drain();
    let result = outs
        .iter()
        .find_map(|o| match o {
            Output::Answer {
                call: 1,
                response: Response::Reload { result },
            } => Some(result.clone()),
            _ => None,
        })
        .expect("a reload answer");
    (result, outs)
}

fn reconfigured(outs: &[Output]) -> Option<&Config> {
    outs.iter().find_map(|o| match o {
        Output::Reconfigure(c) => Some(&**c),
        _ => None,
    })
}

fn with_extra(extra: &str) -> String {
    format!("{LAB}\n{extra}")
}

#[test]
fn a_new_neighbor_is_added_and_the_neighbors_reconfigured() {
    let mut h = H::new();
    let new = with_extra("[[neighbor]]\naddress = \"172.20.0.2\"\nremote_as = 65300\n");
    let (r, outs) = reload(&mut h, &new);
    assert!(r.applied);
    assert_eq!(r.added, vec!["172.20.0.2"]);
    assert_eq!(reconfigured(&outs).unwrap().neighbors.len(), 3);
    assert_eq!(h.core.config().neighbors.len(), 3);
}

#[test]
fn a_file_with_mistakes_is_refused_and_the_config_stays() {
    let mut h = H::new();
    h.feed(Input::Reload {
        call: Some(1),
        config: Err(vec!["test.toml:3:1: unknown field `routr`".into()]),
    });
    let (r, outs) = answer(&mut h);
    assert!(!r.applied);
    assert_eq!(r.errors, vec!["test.toml:3:1: unknown field `routr`"]);
    assert!(reconfigured(&outs).is_none());
    assert_eq!(h.core.config().neighbors.len(), 2);
}

#[test]
fn a_reload_from_a_signal_is_applied_without_an_answer() {
    let mut h = H::new();
    h.feed(Input::Reload {
        call: None,
        config: Ok(Box::new(lab_config(LAB))),
    });
    let outs = h.drain();
    assert!(reconfigured(&outs).is_some());
    assert!(!outs.iter().any(|o| matches!(o, Output::Answer { .. })));
}

#[test]
fn new_policies_ask_every_session_for_its_routes_again() {
    let mut h = H::new();
    let a = Peer::node(2);
    let b = Peer {
        route_refresh: false,
        ..Peer::node(3)
    };
    h.up(&a);
    h.up(&b);
    let new = with_extra(
        r#"
[[policy]]
name = "only-pods"
[[policy.term]]
match = { prefix_list = "pods" }
action = { result = "accept" }

[[prefix_list]]
name = "pods"
entry = [{ prefix = "10.0.0.0/8", le = 24 }]
"#,
    );
    let (r, outs) = reload(&mut h, &new);
    assert!(r.applied, "{:?}", r.errors);
    assert_eq!(
        commands_to(&outs, 2),
        vec![
            PeerCommand::RequestRefresh(Family::IPV4_UNICAST),
            PeerCommand::RequestRefresh(Family::IPV6_UNICAST)
        ]
    );
    assert!(
        commands_to(&outs, 3).is_empty(),
        "no route refresh negotiated"
    );
}

#[test]
fn a_policy_the_rib_refuses_refuses_the_reload() {
    let mut h = H::new();
    let new = with_extra(
        r#"
[[policy]]
name = "broken"
[[policy.term]]
match = { prefix_list = "missing" }
action = { result = "accept" }
"#,
    );
    let config = crate::config::parse(&new, "test.toml");
    // The config check may catch it first; either way the reload is
    // refused and nothing changes.
    let input = match config {
        Ok(c) => Ok(Box::new(c)),
        Err(e) => Err(ReloadResult::refused(&e).errors),
    };
    h.feed(Input::Reload {
        call: Some(1),
        config: input,
    });
    let (r, outs) = answer(&mut h);
    assert!(!r.applied);
    assert!(!r.errors.is_empty());
    assert!(reconfigured(&outs).is_none());
    assert!(h.core.config().policies.is_empty());
}

#[test]
fn a_new_metrics_endpoint_or_log_level_is_named_in_the_answer() {
    let mut h = H::new();
    let new = with_extra("[metrics]\nlisten = \"127.0.0.1:9179\"\n\n[log]\nlevel = \"debug\"\n");
    let (r, _) = reload(&mut h, &new);
    assert!(r.applied);
    assert_eq!(
        r.errors,
        [
            "[log] takes effect at restart",
            "[metrics] takes effect at restart"
        ]
    );
}

#[test]
fn a_router_change_is_reported_as_needing_a_restart() {
    let mut h = H::new();
    let new = LAB.replace("asn = 65000", "asn = 65001");
    let (r, _) = reload(&mut h, &new);
    assert!(r.applied);
    assert!(
        r.errors
            .iter()
            .any(|e| e.contains("takes effect at restart")),
        "{:?}",
        r.errors
    );
}

#[test]
fn a_changed_neighbor_is_reported_as_changed_and_handed_to_the_neighbors() {
    let mut h = H::new();
    let a = Peer::node(2);
    h.up(&a);
    let new = LAB.replacen("remote_as = 65100", "remote_as = 65100\nhold_time = 30", 1);
    let (r, outs) = reload(&mut h, &new);
    assert!(r.applied);
    assert_eq!(r.changed, vec!["172.18.0.0/16"]);
    assert!(r.added.is_empty() && r.removed.is_empty());
    let cfg = reconfigured(&outs).unwrap();
    assert_eq!(cfg.neighbors[0].hold_time, 30);
    // The session itself is the neighbor tasks' to restart: the core
    // sends it nothing.
    assert!(commands_to(&outs, 2).is_empty());
}

#[test]
fn a_removed_range_is_reported_as_removed() {
    let mut h = H::new();
    let new = LAB.replace(
        "[[neighbor]]\nrange = \"172.19.0.0/16\"\nremote_as = 65200\n",
        "",
    );
    let (r, outs) = reload(&mut h, &new);
    assert!(r.applied);
    assert_eq!(r.removed, vec!["172.19.0.0/16"]);
    assert_eq!(reconfigured(&outs).unwrap().neighbors.len(), 1);
}
