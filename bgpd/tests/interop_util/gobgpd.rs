//! The config of a gobgpd speaker as Cilium configures its embedded GoBGP:
//! one neighbor (rbgpd, AS 65000), IPv4 and IPv6 unicast, the given timers,
//! optionally graceful restart with the RFC 8538 notification bit. Shared
//! by the whole-daemon tests and `peer_gobgpd.rs` (through `#[path]`).

/// One speaker's settings.
#[derive(Clone, Debug)]
pub struct GobgpdSpeaker<'a> {
    /// Its address (local address, where it listens).
    pub addr: &'a str,
    /// Its BGP Identifier.
    pub router_id: &'a str,
    /// Its AS.
    pub asn: u32,
    /// The port it listens on (-1: it only dials).
    pub listen_port: i32,
    /// rbgpd's address and port.
    pub rbgpd: (&'a str, u16),
    /// Hold time and keepalive interval proposed, connect retry.
    pub timers: (u16, u16, u16),
    /// Graceful restart (120 s, N bit, both families).
    pub gr: bool,
}

impl GobgpdSpeaker<'_> {
    /// The TOML for `gobgpd -f`.
    pub fn config(&self) -> String {
        let GobgpdSpeaker {
            addr,
            router_id,
            asn,
            listen_port,
            rbgpd: (rbgpd, rbgpd_port),
            timers: (hold, keepalive, connect_retry),
            gr,
        } = self;
        let gr_cfg = if *gr {
            "  [neighbors.graceful-restart.config]\n    enabled = true\n    restart-time = 120\n    notification-enabled = true\n"
        } else {
            ""
        };
        let fam_gr = if *gr {
            "    [neighbors.afi-safis.mp-graceful-restart.config]\n      enabled = true\n"
        } else {
            ""
        };
        format!(
            r#"[global.config]
  as = {asn}
  router-id = "{router_id}"
  port = {listen_port}
  local-address-list = ["{addr}"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "{rbgpd}"
    peer-as = 65000
  [neighbors.transport.config]
    remote-port = {rbgpd_port}
    local-address = "{addr}"
  [neighbors.timers.config]
    hold-time = {hold}
    keepalive-interval = {keepalive}
    connect-retry = {connect_retry}
{gr_cfg}
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
{fam_gr}
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
{fam_gr}
"#
        )
    }
}
