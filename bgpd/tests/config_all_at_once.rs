//! `--check-config` reports every mistake of a file in one run, in file
//! order, structural ones (unknown keys, wrong types) included, without
//! mistakes that only follow from another; and prints each with its source
//! line and a caret.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bgpd::config;

const FIVE_MISTAKES: &str = r#"[router]
asn = 65000
router_id = "172.18.0.5"
routerid = "1.2.3.4"

[[neighbor]]
range = "172.18.0.0/16"
remote_as = 65100
hold_tme = 30
max_prefixes = 5

[[neighbor]]
address = "172.19.0.2"
remote_as = 65200
hold_time = 2

[fib]
tabel = 100

[bgp]
x = 1
"#;

#[test]
fn five_mistakes_in_one_run_in_file_order() {
    let e = config::parse(FIVE_MISTAKES, "rbgpd.toml").unwrap_err();
    let lines: Vec<String> = e.diagnostics().iter().map(ToString::to_string).collect();
    let want = [
        "rbgpd.toml:4:1: router.routerid: unknown key `routerid`",
        "rbgpd.toml:9:1: neighbor[0].hold_tme: unknown key `hold_tme`",
        "rbgpd.toml:10:16: neighbor[0].max_prefixes: invalid type: integer `5`, expected a table",
        "rbgpd.toml:15:13: neighbor[1].hold_time: hold time 2 is invalid",
        "rbgpd.toml:18:1: fib.tabel: unknown key `tabel`",
        "rbgpd.toml:20:2: bgp: unknown key `bgp`",
    ];
    assert_eq!(lines.len(), want.len(), "{lines:#?}");
    for (line, w) in lines.iter().zip(want) {
        assert!(line.starts_with(w), "{line}\n  wanted: {w}");
    }
}

#[test]
fn a_blanked_required_key_does_not_make_a_second_mistake() {
    let text = "[router]\nasn = \"x\"\nrouter_id = \"172.18.0.5\"\n";
    let e = config::parse(text, "rbgpd.toml").unwrap_err();
    assert_eq!(e.diagnostics().len(), 1, "{e}");
    assert!(e.to_string().contains("router.asn"), "{e}");
}

#[test]
fn check_config_prints_source_lines_and_carets() {
    let dir = std::env::temp_dir().join(format!("rbgpd-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rbgpd.toml");
    std::fs::write(&file, FIVE_MISTAKES).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rbgpd"))
        .arg("--check-config")
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("error: ").count(), 6, "{err}");
    assert!(err.contains("\n9 | hold_tme = 30\n  | ^\n"), "{err}");
    assert!(
        err.contains("\n15 | hold_time = 2\n   |             ^\n"),
        "{err}"
    );
}

#[test]
fn a_file_of_mistakes_is_reported_up_to_the_bound() {
    let mut text = String::from("[router]\nasn = 65000\nrouter_id = \"172.18.0.5\"\n");
    for i in 0..500 {
        text.push_str(&format!("bogus{i} = 1\n"));
    }
    let e = config::parse(&text, "rbgpd.toml").unwrap_err();
    assert_eq!(
        e.diagnostics().len(),
        64,
        "at most 64 mistakes, each a parse"
    );
    // Which 64 depends on the order toml reads a table's keys in.
    assert!(
        e.diagnostics()
            .iter()
            .all(|d| d.key.starts_with("router.bogus")),
        "{e}"
    );
}
