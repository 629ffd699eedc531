//! Parses arbitrary octets as an rbgpctl request line, as the control
//! server does, and answers what parses with a core holding a route: no
//! input may panic, and every answer serialises.
#![no_main]

use bgpd::config;
use bgpd::core::{Core, CtlContext, Input, Output};
use bgpd::ctl::proto::{Request, RequestLine, ResponseLine, PROTOCOL_VERSION};
use libfuzzer_sys::fuzz_target;
use std::time::Instant;

const CONFIG: &str = "[router]\nasn = 65000\nrouter_id = \"172.18.0.5\"\nlisten = []\n\
                      [[neighbor]]\nrange = \"172.18.0.0/16\"\nremote_as = 65100\n";

fuzz_target!(|line: &[u8]| {
    let text = String::from_utf8_lossy(line);
    let Ok(parsed) = serde_json::from_str::<RequestLine>(&text) else {
        return;
    };
    if let Request::ShowRoutes(q) = &parsed.request {
        let _ = q.target();
    }
    if matches!(parsed.request, Request::Reload | Request::Watch) {
        return;
    }
    let now = Instant::now();
    // Parsed once: the TOML parse costs more than most requests.
    static CFG: std::sync::OnceLock<config::Config> = std::sync::OnceLock::new();
    let cfg = CFG
        .get_or_init(|| config::parse(CONFIG, "fuzz.toml").expect("the fuzz config parses"))
        .clone();
    let mut core = Core::new(cfg, now).expect("a core");
    core.handle(
        now,
        Input::Ctl {
            call: 1,
            request: parsed.request,
            context: CtlContext::default(),
        },
    );
    while let Some(out) = core.poll_output() {
        if let Output::Answer { response, .. } = out {
            let line = ResponseLine {
                v: PROTOCOL_VERSION,
                response,
            };
            serde_json::to_string(&line).expect("an answer serialises");
        }
    }
});
