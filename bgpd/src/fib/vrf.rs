//! VRF devices by name: the kernel table each one routes with, so that a
//! neighbor with `vrf = "name"` has its routes written there (as `table =
//! N` would). Looked up when the daemon starts and at each reload; a VRF
//! created later is picked up by the next reload.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use netlink_packet_route::link::{InfoData, InfoVrf, LinkAttribute, LinkInfo, LinkMessage};

use crate::config::Config;

/// The table of a VRF link message; `None` for any other kind of link.
pub fn vrf_table(m: &LinkMessage) -> Option<u32> {
    m.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
            LinkInfo::Data(InfoData::Vrf(v)) => v.iter().find_map(|x| match x {
                InfoVrf::TableId(t) => Some(*t),
                _ => None,
            }),
            _ => None,
        }),
        _ => None,
    })
}

/// Sets `table` on every neighbor that names a `vrf`, from the kernel's
/// VRF devices. The error names each VRF that is missing or is not a VRF.
pub async fn resolve(config: &mut Config) -> Result<(), String> {
    let names: Vec<String> = config
        .neighbors
        .iter()
        .filter_map(|n| n.vrf.clone())
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let tables = lookup(&names).await?;
    let mut missing = Vec::new();
    for n in &mut config.neighbors {
        let Some(name) = &n.vrf else { continue };
        match tables.get(name) {
            Some(Some(t)) => n.table = Some(*t),
            Some(None) => missing.push(format!("vrf \"{name}\": the link is not a VRF device")),
            None => missing.push(format!(
                "vrf \"{name}\": no such device (ip link add {name} type vrf table N)"
            )),
        }
    }
    missing.sort();
    missing.dedup();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing.join("; "))
    }
}

/// Each named link that exists, with its VRF table if it is one.
async fn lookup(names: &[String]) -> Result<BTreeMap<String, Option<u32>>, String> {
    let rtnl = super::rtnl::Rtnl::open().map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    let mut links = rtnl.handle().link().get().execute();
    while let Some(link) = links
        .try_next()
        .await
        .map_err(|e| super::rtnl::failed("link dump")(e).to_string())?
    {
        let name = link.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        });
        if let Some(name) = name.filter(|n| names.contains(n)) {
            out.insert(name, vrf_table(&link));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::link::InfoKind;

    fn link(infos: Vec<LinkInfo>) -> LinkMessage {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName("cluster1".into()));
        m.attributes.push(LinkAttribute::LinkInfo(infos));
        m
    }

    #[test]
    fn a_vrf_link_gives_its_table_and_other_links_none() {
        let vrf = link(vec![
            LinkInfo::Kind(InfoKind::Vrf),
            LinkInfo::Data(InfoData::Vrf(vec![InfoVrf::TableId(100)])),
        ]);
        assert_eq!(vrf_table(&vrf), Some(100));
        let veth = link(vec![LinkInfo::Kind(InfoKind::Veth)]);
        assert_eq!(vrf_table(&veth), None);
        assert_eq!(vrf_table(&LinkMessage::default()), None);
    }

    #[tokio::test]
    async fn a_missing_device_and_a_link_that_is_no_vrf_are_named() {
        let mut config = crate::config::parse(
            "[router]\nasn = 65000\nrouter_id = \"10.0.0.1\"\n\
             [[neighbor]]\naddress = \"10.0.0.2\"\nremote_as = 65100\nvrf = \"lo\"\n\
             [[neighbor]]\naddress = \"10.0.0.3\"\nremote_as = 65100\nvrf = \"rbgpd-none\"\n",
            "t.toml",
        )
        .unwrap();
        let e = resolve(&mut config).await.unwrap_err();
        assert_eq!(
            e,
            "vrf \"lo\": the link is not a VRF device; vrf \"rbgpd-none\": no such device \
             (ip link add rbgpd-none type vrf table N)"
        );
        assert_eq!(config.neighbors[0].table, None);
    }
}
