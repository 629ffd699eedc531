//! `rbgpctl explain` end to end against a fake daemon: the text and JSON
//! of an answer, and usage errors (exit status 2) for targets that are
//! not a prefix or an address.

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
