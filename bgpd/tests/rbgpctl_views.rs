//! `rbgpctl explain` and `show clusters` end to end against a fake
//! daemon: the text and JSON of an answer, and usage errors (exit status
//! 2) for targets that are not a prefix or an address and for an unknown
//! cluster.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_daemon;

use bgpd::ctl::proto::{Request, Response};
use fake_daemon::*;

#[test]
fn explain_text_json_and_bad_targets() {
    let d = FakeDaemon::start();
    let o = d.ctl(&["explain", "10.11.192.248"]);
    assert!(o.status.success(), "{o:?}");
    golden("explain.txt", &String::from_utf8(o.stdout).unwrap());
    assert_eq!(
        d.last_request(),
        Request::Explain {
            target: "10.11.192.248".into()
        }
    );
    let o = d.ctl(&["--json", "explain", "10.11.192.248/32"]);
    assert!(o.status.success(), "{o:?}");
    let back: Response = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        back,
        Response::Explain {
            explain: Box::new(explain("10.11.192.248/32"))
        }
    );
    let asked = d.seen.lock().unwrap().len();
    for (bad, says) in [
        ("10.11.192.248/33", "length 33 is out of range"),
        ("10.11.192", "invalid prefix or address"),
        ("fd00::/129", "length 129 is out of range"),
    ] {
        let o = d.ctl(&["explain", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {o:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{bad}: {err}");
    }
    assert_eq!(
        d.seen.lock().unwrap().len(),
        asked,
        "nothing sent for bad input"
    );
}

#[test]
fn show_clusters_all_one_and_unknown() {
    let d = FakeDaemon::start();
    let o = d.ctl(&["show", "clusters"]);
    assert!(o.status.success(), "{o:?}");
    golden("show_clusters.txt", &String::from_utf8(o.stdout).unwrap());
    assert_eq!(d.last_request(), Request::ShowClusters);
    let o = d.ctl(&["--json", "show", "clusters", "kind2"]);
    assert!(o.status.success(), "{o:?}");
    let back: Response = serde_json::from_slice(&o.stdout).unwrap();
    let Response::Clusters { clusters } = back else {
        panic!("{back:?}")
    };
    assert_eq!(clusters.len(), 1);
    assert_eq!(clusters[0].name, "kind2");
    let o = d.ctl(&["show", "clusters", "kind3"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("unknown cluster \"kind3\" (known: kind-cilium, kind2)"),
        "{err}"
    );
}
