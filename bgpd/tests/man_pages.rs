//! The man pages and shell completions in `docs/man/` and
//! `docs/completions/` are made from their one source: rbgpd(8) and
//! rbgpctl(8) (with a page per subcommand) from the clap definitions
//! (`bgpd::cli`, `bgpd::ctl::cli`), rbgpd.toml(5) from docs/config.md, the
//! completions (bash, zsh, fish) from the clap definitions too. The files
//! must equal what the sources give now (regenerate with `UPDATE_GOLDEN=1
//! cargo test -p bgpd --test man_pages`), and each page must render with
//! `man` where it is installed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::CommandFactory;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

/// Every generated file, by its path under docs/.
fn generated() -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let tmp = std::env::temp_dir().join(format!("rbgpd-man-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    for cmd in [
        bgpd::cli::Args::command().name("rbgpd"),
        bgpd::ctl::cli::Cli::command().name("rbgpctl"),
    ] {
        let cmd = cmd.version(env!("CARGO_PKG_VERSION"));
        // Section 8: system administration commands, as bird(8).
        clap_mangen::generate_to(cmd.clone(), &tmp).unwrap();
        let name = cmd.get_name().to_string();
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let mut c = cmd.clone();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut c, &name, &mut buf);
            let file = match shell {
                clap_complete::Shell::Bash => format!("completions/{name}.bash"),
                clap_complete::Shell::Zsh => format!("completions/_{name}"),
                _ => format!("completions/{name}.fish"),
            };
            out.insert(file, buf);
        }
    }
    for e in std::fs::read_dir(&tmp).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        // clap_mangen names the pages NAME.1: they are section 8 pages.
        let page = name.trim_end_matches(".1");
        let text = std::fs::read_to_string(e.path()).unwrap();
        let text = text.replacen(" 1 ", " 8 ", 1);
        out.insert(format!("man/{page}.8"), text.into_bytes());
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let config = std::fs::read_to_string(docs().join("config.md")).unwrap();
    out.insert("man/rbgpd.toml.5".into(), config_page(&config).into_bytes());
    out
}

/// Inline markdown to roff: `code` bold, **strong** bold, links as text.
fn inline(s: &str) -> String {
    let mut t = s.replace('\\', "\\e");
    // Links: [text](target) -> text.
    while let Some(i) = t.find("](") {
        let Some(open) = t[..i].rfind('[') else { break };
        let Some(close) = t[i..].find(')') else { break };
        t = format!("{}{}{}", &t[..open], &t[open + 1..i], &t[i + close + 1..]);
    }
    let mut out = String::new();
    let mut code = false;
    for (k, part) in t.split('`').enumerate() {
        if k > 0 {
            out.push_str(if code { "\\fR" } else { "\\fB" });
            code = !code;
        }
        let mut bold = false;
        for (j, p) in part.split("**").enumerate() {
            if j > 0 && !code {
                out.push_str(if bold { "\\fR" } else { "\\fB" });
                bold = !bold;
            } else if j > 0 {
                out.push_str("**");
            }
            out.push_str(p);
        }
    }
    out.replace("\n.", "\n\\&.").replace("\n'", "\n\\&'")
}

/// rbgpd.toml(5) from docs/config.md: each section a `.SH`, each key of
/// its table a `.TP` entry, the prose as paragraphs.
fn config_page(md: &str) -> String {
    let mut out = format!(
        ".TH RBGPD.TOML 5 \"\" \"rbgpd {}\" \"File Formats\"\n\
         .SH NAME\nrbgpd.toml \\- the configuration file of rbgpd\n\
         .SH DESCRIPTION\n",
        env!("CARGO_PKG_VERSION")
    );
    let mut para = String::new();
    let flush = |para: &mut String, out: &mut String| {
        if !para.trim().is_empty() {
            out.push_str(".PP\n");
            out.push_str(&inline(para.trim()));
            out.push('\n');
        }
        para.clear();
    };
    let mut code = false;
    for line in md.lines() {
        if line.starts_with("```") {
            flush(&mut para, &mut out);
            out.push_str(if code { ".fi\n.RE\n" } else { ".RS\n.nf\n" });
            code = !code;
        } else if code {
            let l = line.replace('\\', "\\e");
            out.push_str(if l.starts_with(['.', '\'']) {
                "\\&"
            } else {
                ""
            });
            out.push_str(&l);
            out.push('\n');
        } else if let Some(h) = line.strip_prefix("## ") {
            flush(&mut para, &mut out);
            out.push_str(&format!(".SH {}\n", h.replace('`', "").to_uppercase()));
        } else if line.starts_with("# ") {
            flush(&mut para, &mut out);
        } else if line.starts_with('|') {
            flush(&mut para, &mut out);
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            let [key, ty, default, meaning] = cells[..] else {
                continue;
            };
            if key == "key" || key.starts_with("---") {
                continue;
            }
            out.push_str(&format!(
                ".TP\n{} ({}, default {})\n{}\n",
                inline(key),
                inline(ty),
                inline(default),
                inline(meaning)
            ));
        } else if line.trim().is_empty() {
            flush(&mut para, &mut out);
        } else {
            para.push_str(line);
            para.push('\n');
        }
    }
    flush(&mut para, &mut out);
    out.push_str(".SH SEE ALSO\nrbgpd(8), rbgpctl(8)\n");
    out
}

#[test]
fn man_pages_and_completions_are_those_the_sources_give() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let files = generated();
    assert!(
        files.contains_key("man/rbgpctl-explain.8"),
        "{:?}",
        files.keys()
    );
    for (rel, want) in &files {
        let path = docs().join(rel);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, want).unwrap();
        }
        let have = std::fs::read(&path).unwrap_or_default();
        assert!(
            have == *want,
            "{} is not what its source gives (UPDATE_GOLDEN=1 to rewrite)",
            path.display()
        );
    }
    // No page or completion left from a command that is gone.
    for dir in ["man", "completions"] {
        for e in std::fs::read_dir(docs().join(dir)).unwrap() {
            let rel = format!("{dir}/{}", e.unwrap().file_name().to_string_lossy());
            assert!(files.contains_key(&rel), "{rel} has no source any more");
        }
    }
}

#[test]
fn the_pages_render_with_man() {
    if let Some(why) = testbed::missing(&["man"]) {
        testbed::skip(why);
        return;
    }
    for page in ["rbgpd.8", "rbgpctl.8", "rbgpctl-top.8", "rbgpd.toml.5"] {
        let out = std::process::Command::new("man")
            .arg("-l")
            .arg(docs().join("man").join(page))
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        assert!(out.status.success(), "{page}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let name = page.split('.').next().unwrap();
        assert!(text.contains(name), "{page}:\n{text}");
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(!warnings.contains("warning"), "{page}: {warnings}");
    }
    let toml = std::process::Command::new("man")
        .arg("-l")
        .arg(docs().join("man/rbgpd.toml.5"))
        .env("MANPAGER", "cat")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&toml.stdout);
    assert!(text.contains("sender_as_path_loop_detection"), "{text}");
}
