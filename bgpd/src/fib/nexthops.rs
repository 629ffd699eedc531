//! Kernel nexthop objects (Linux >= 5.3, `ip nexthop`): each distinct
//! next-hop list of our routes becomes one shared kernel object, and a route
//! names it by id (`RTA_NH_ID`) instead of carrying its own gateway.
//!
//! Why: for a route with its own gateway the kernel builds a `fib_info` with
//! per-CPU next-hop state on every insert, then finds and keeps the shared
//! one; that is a fifth of the cost of a big load. With an object id it only
//! takes a reference. FRR's zebra writes routes the same way.
//!
//! Lifecycle, and why each rule:
//! - A single next hop (gateway and interface) is one object; an ECMP list is
//!   a group object over the singles of its members.
//! - Deleting an object deletes every route using it and shrinks every group
//!   holding it, so an object is deleted only when the manager says no route
//!   uses its list any more ([`NexthopObjects::release`]) and no group of
//!   ours holds it.
//! - Objects are keyed by the manager's list id ([`super::ListId`]): the
//!   manager's interning is the one table of next-hop lists, and an id is
//!   not reused before its release reaches the registry.
//! - The kernel deletes objects by itself (their link goes down) without a
//!   notification, so the registry is re-read from the kernel whenever the
//!   routes or the connected networks are ([`NexthopObjects::sync`]).
//! - Ids are picked above every id in the kernel, never reusing another
//!   owner's; a creation is never a replace, so a clash is an `EEXIST`, not
//!   a hijack.
//! - Routes whose objects could not be created are written the plain way.

use std::net::IpAddr;

use hashbrown::{HashMap as FastMap, HashSet as FastSet};

use super::lists::{ListId, NONE};
use super::nlmsg;
use super::NextHop;

/// `RTM_NEWNEXTHOP`.
pub(super) const RTM_NEWNEXTHOP: u16 = 104;
/// `RTM_DELNEXTHOP`.
pub(super) const RTM_DELNEXTHOP: u16 = 105;
const RTM_GETNEXTHOP: u16 = 106;

const NHA_ID: u16 = 1;
const NHA_GROUP: u16 = 2;
const NHA_OIF: u16 = 5;
const NHA_GATEWAY: u16 = 6;

const AF_UNSPEC: u8 = 0;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// Length of `struct nhmsg { u8 family, scope, protocol, resvd; u32 flags; }`.
const NHMSG_LEN: usize = 8;
/// Offset of `nh_protocol` in a message.
pub(super) const NH_PROTOCOL_OFFSET: usize = nlmsg::NLMSG_HDRLEN + 2;

/// Most objects we keep: far above any real table (a few per neighbor), it
/// only bounds a pathological churn of next hops.
const MAX_OBJECTS: usize = 65_536;

/// A nexthop object as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct KernelNexthop {
    /// Object id.
    pub id: u32,
    /// `nh_protocol`: ours is the protocol of our routes.
    pub protocol: u8,
    /// Gateway and interface of a single next hop.
    pub hop: Option<NextHop>,
    /// Member ids of a group.
    pub group: Vec<u32>,
}

/// An object to create, in the order given (members before their group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum NewObject {
    /// One gateway on one interface.
    Single { id: u32, hop: NextHop },
    /// An ECMP group of single objects, equal weights.
    Group { id: u32, members: Vec<u32> },
}

impl NewObject {
    /// The id of the object.
    pub(super) fn id(&self) -> u32 {
        match self {
            NewObject::Single { id, .. } | NewObject::Group { id, .. } => *id,
        }
    }
}

#[derive(Debug)]
struct Object {
    /// The gateway and interface of a single; `None` for a group.
    hop: Option<NextHop>,
    /// Member ids of a group, in the order of their next hops (empty for a
    /// single).
    members: Box<[u32]>,
    /// The manager's list this object stands for, once a route named it.
    list: Option<ListId>,
    /// A route of the manager may name this object.
    wanted: bool,
    /// Groups of ours holding this single.
    in_groups: u32,
}

/// The registry of our nexthop objects, keyed by the manager's list ids.
///
/// It keeps no next-hop lists: the manager's interning is the one table of
/// them. Next hops are looked at only where an object has no list id yet:
/// when a route first names a list (the single of each next hop is shared
/// by every group holding it and by the one-hop list), and for the objects
/// a previous run left (adopted from the kernel, claimed by the first list
/// with their next hops, or released by it).
#[derive(Debug, Default)]
pub(super) struct NexthopObjects {
    /// The object of each list that has one, indexed by list id
    /// ([`NONE`] if none).
    by_list: Vec<u32>,
    /// Single objects by their next hop.
    singles: FastMap<NextHop, u32>,
    /// Groups no list has claimed (a previous run's, or one the kernel
    /// shrank), by their sorted member ids.
    unclaimed: FastMap<Box<[u32]>, u32>,
    objects: FastMap<u32, Object>,
    /// Ids of objects that are not ours.
    foreign: FastSet<u32>,
    next_id: u32,
    /// Objects to delete, in order (groups before their members).
    deletes: Vec<u32>,
}

/// Whether a route of family `v6` can name `hops` as an object: every
/// gateway on a known interface and of one family, which an IPv6 route
/// needs to be its own (an IPv4 route may name IPv6 objects, RFC 8950;
/// Linux has no IPv6 route via IPv4, and no group mixing families).
fn eligible(v6: bool, hops: &[NextHop]) -> bool {
    let Some(first) = hops.first() else {
        return false;
    };
    let family_v6 = first.gateway.is_ipv6();
    hops.len() <= 64
        && (family_v6 || !v6)
        && hops
            .iter()
            .all(|h| h.ifindex != 0 && h.gateway.is_ipv6() == family_v6)
}

/// `members`, sorted: the key of a group whatever the order of its members.
fn group_key(members: &[u32]) -> Box<[u32]> {
    let mut key: Box<[u32]> = members.into();
    key.sort_unstable();
    key
}

impl NexthopObjects {
    /// An empty registry (call [`NexthopObjects::sync`] with the kernel's
    /// objects before use).
    pub(super) fn new() -> Self {
        NexthopObjects {
            next_id: 1,
            ..NexthopObjects::default()
        }
    }

    /// How many objects we hold.
    pub(super) fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether `id` is one of our live objects.
    pub(super) fn holds(&self, id: u32) -> bool {
        self.objects.contains_key(&id)
    }

    /// The next hops of object `id`, sorted.
    pub(super) fn hops(&self, id: u32) -> Option<Vec<NextHop>> {
        let o = self.objects.get(&id)?;
        let mut hops: Vec<NextHop> = match o.hop {
            Some(hop) => vec![hop],
            None => o
                .members
                .iter()
                .filter_map(|m| self.objects.get(m).and_then(|s| s.hop))
                .collect(),
        };
        hops.sort();
        Some(hops)
    }

    /// The object a route of family `v6` names for the manager's `list`
    /// (next hops `hops`), creating it (and the singles of a group) if
    /// needed: what to create is appended to `create`. `None`: write the
    /// route the plain way.
    pub(super) fn id_for(
        &mut self,
        v6: bool,
        list: ListId,
        hops: &[NextHop],
        create: &mut Vec<NewObject>,
    ) -> Option<u32> {
        if !eligible(v6, hops) {
            return None;
        }
        let id = match self.claimed(list) {
            Some(id) => id,
            None => {
                let id = match self.find(hops) {
                    Some(id) => id,
                    None => self.create(hops, create)?,
                };
                self.claim(list, id);
                id
            }
        };
        if let Some(o) = self.objects.get_mut(&id) {
            o.wanted = true;
        }
        Some(id)
    }

    /// The kernel refused to create `id` (`errno` negative): forget it, so
    /// its routes go the plain way now and the next use tries again.
    pub(super) fn failed(&mut self, id: u32, errno: i32) {
        if -errno == libc::EEXIST {
            // Someone else's: never pick it again.
            self.foreign.insert(id);
        }
        self.remove(id);
    }

    /// The manager dropped its last route with `list` (next hops `hops`):
    /// the object goes once no group of ours holds it.
    pub(super) fn release(&mut self, list: ListId, hops: &[NextHop]) {
        let id = match self.claimed(list) {
            Some(id) => {
                if let Some(slot) = self.by_list.get_mut(list.index()) {
                    *slot = NONE;
                }
                id
            }
            // A previous run's object no route of this run has named.
            None => match self.find(hops) {
                Some(id) if self.objects.get(&id).is_some_and(|o| o.list.is_none()) => id,
                _ => return,
            },
        };
        if let Some(o) = self.objects.get_mut(&id) {
            o.list = None;
            o.wanted = false;
        }
        self.delete_if_unused(id);
    }

    /// Deletions to send, groups before their members.
    pub(super) fn take_deletes(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.deletes)
    }

    /// Every object, groups first, for deleting them all at exit.
    pub(super) fn take_all(&mut self) -> Vec<u32> {
        let mut ids = self.take_deletes();
        let (groups, singles): (Vec<_>, Vec<_>) = self
            .objects
            .iter()
            .partition(|(_, o)| !o.members.is_empty());
        ids.extend(groups.into_iter().map(|(id, _)| *id));
        ids.extend(singles.into_iter().map(|(id, _)| *id));
        self.objects.clear();
        self.by_list.clear();
        self.singles.clear();
        self.unclaimed.clear();
        ids
    }

    /// Takes the kernel's objects as the truth: ours that vanished (their
    /// link went down, someone deleted them) are forgotten, ours we did not
    /// know (a previous run's) are adopted, other owners' ids are avoided.
    /// With `referenced` (the ids our routes name, from a full route dump)
    /// objects no route names are deleted.
    pub(super) fn sync(
        &mut self,
        kernel: &[KernelNexthop],
        protocol: u8,
        referenced: Option<&FastSet<u32>>,
    ) {
        self.foreign.clear();
        let mut max_id = 0;
        let mut ours: FastMap<u32, &KernelNexthop> = FastMap::default();
        for k in kernel {
            max_id = max_id.max(k.id);
            if k.protocol == protocol {
                ours.insert(k.id, k);
            } else {
                self.foreign.insert(k.id);
            }
        }
        self.deletes.retain(|id| ours.contains_key(id));
        // Forget what the kernel no longer has, and what it changed: a
        // single with another next hop, a group with other members (the
        // kernel shrinks a group when a member goes) or over a changed
        // single. A changed object is adopted again as it is now.
        let mut stale: FastSet<u32> = self
            .objects
            .iter()
            .filter(|(id, o)| match ours.get(*id) {
                None => true,
                Some(k) => match k.hop {
                    Some(hop) => o.hop != Some(hop),
                    None => o.hop.is_some() || group_key(&o.members) != group_key(&k.group),
                },
            })
            .map(|(id, _)| *id)
            .collect();
        let over_stale: Vec<u32> = self
            .objects
            .iter()
            .filter(|(_, o)| o.members.iter().any(|m| stale.contains(m)))
            .map(|(id, _)| *id)
            .collect();
        stale.extend(over_stale);
        for id in stale {
            self.forget(id);
        }
        // Adopt ours we do not know: singles, then groups over singles of
        // ours.
        for k in ours.values() {
            if let (Some(hop), false) = (k.hop, self.objects.contains_key(&k.id)) {
                if !self.deletes.contains(&k.id) {
                    self.adopt(k.id, Some(hop), Box::default());
                }
            }
        }
        for k in ours.values() {
            let adoptable = k.hop.is_none()
                && !k.group.is_empty()
                && !self.objects.contains_key(&k.id)
                && !self.deletes.contains(&k.id)
                && k.group.iter().all(|m| {
                    ours.get(m).is_some_and(|s| s.hop.is_some()) && self.objects.contains_key(m)
                });
            if adoptable {
                self.adopt(k.id, None, k.group.as_slice().into());
            }
        }
        // Group holdings, recounted from the groups we hold.
        for o in self.objects.values_mut() {
            o.in_groups = 0;
        }
        let members: Vec<u32> = self
            .objects
            .values()
            .flat_map(|o| o.members.iter().copied())
            .collect();
        for m in members {
            if let Some(o) = self.objects.get_mut(&m) {
                o.in_groups += 1;
            }
        }
        if let Some(refs) = referenced {
            for (id, o) in &mut self.objects {
                o.wanted = refs.contains(id);
            }
            let unused: Vec<u32> = self
                .objects
                .iter()
                .filter(|(_, o)| !o.wanted && !o.members.is_empty())
                .map(|(id, _)| *id)
                .collect();
            for id in unused {
                self.delete_if_unused(id);
            }
            let unused: Vec<u32> = self
                .objects
                .iter()
                .filter(|(_, o)| !o.wanted && o.in_groups == 0)
                .map(|(id, _)| *id)
                .collect();
            for id in unused {
                self.delete_if_unused(id);
            }
        }
        self.next_id = self.next_id.max(max_id.saturating_add(1)).max(1);
    }

    /// The object `list` has claimed.
    pub(super) fn claimed(&self, list: ListId) -> Option<u32> {
        self.by_list
            .get(list.index())
            .copied()
            .filter(|id| *id != NONE)
    }

    /// An object of ours with exactly these next hops that no list has
    /// claimed: the single of a one-hop list (shared with the groups
    /// holding it), or a group over the singles of the next hops.
    fn find(&self, hops: &[NextHop]) -> Option<u32> {
        match hops {
            [hop] => self.singles.get(hop).copied(),
            many => {
                let members: Option<Vec<u32>> =
                    many.iter().map(|h| self.singles.get(h).copied()).collect();
                self.unclaimed.get(&group_key(&members?)[..]).copied()
            }
        }
    }

    /// Makes `id` the object of `list`.
    fn claim(&mut self, list: ListId, id: u32) {
        let Some(o) = self.objects.get_mut(&id) else {
            return;
        };
        let before = o.list.replace(list);
        if o.hop.is_none() {
            let key = group_key(&o.members);
            if self.unclaimed.get(&key) == Some(&id) {
                self.unclaimed.remove(&key);
            }
        }
        if let Some(slot) = before.and_then(|l| self.by_list.get_mut(l.index())) {
            *slot = NONE;
        }
        if self.by_list.len() <= list.index() {
            self.by_list.resize(list.index() + 1, NONE);
        }
        self.by_list[list.index()] = id;
    }

    /// A new object for `hops` (and new singles for a group's next hops
    /// that have none), appended to `create`; `None` past [`MAX_OBJECTS`].
    fn create(&mut self, hops: &[NextHop], create: &mut Vec<NewObject>) -> Option<u32> {
        if self.objects.len() + hops.len() + 1 > MAX_OBJECTS {
            return None;
        }
        if let [hop] = hops {
            let id = self.alloc_id();
            create.push(NewObject::Single { id, hop: *hop });
            self.insert(id, Some(*hop), Box::default(), true);
            return Some(id);
        }
        let mut members = Vec::with_capacity(hops.len());
        for hop in hops {
            let member = match self.singles.get(hop) {
                Some(&m) => m,
                None => {
                    let m = self.alloc_id();
                    create.push(NewObject::Single { id: m, hop: *hop });
                    // Only the group uses it (for now).
                    self.insert(m, Some(*hop), Box::default(), false);
                    m
                }
            };
            if let Some(o) = self.objects.get_mut(&member) {
                o.in_groups += 1;
            }
            members.push(member);
        }
        let id = self.alloc_id();
        create.push(NewObject::Group {
            id,
            members: members.clone(),
        });
        self.insert(id, None, members.into(), true);
        Some(id)
    }

    /// Takes a kernel object of ours into the registry, unclaimed.
    fn adopt(&mut self, id: u32, hop: Option<NextHop>, members: Box<[u32]>) {
        if hop.is_none() {
            self.unclaimed.entry(group_key(&members)).or_insert(id);
        }
        self.insert(id, hop, members, true);
    }

    fn insert(&mut self, id: u32, hop: Option<NextHop>, members: Box<[u32]>, wanted: bool) {
        if let Some(hop) = hop {
            self.singles.entry(hop).or_insert(id);
        }
        self.objects.insert(
            id,
            Object {
                hop,
                members,
                list: None,
                wanted,
                in_groups: 0,
            },
        );
    }

    /// Drops `id` from the registry and its indexes, leaving the kernel and
    /// the groups holding it be.
    fn forget(&mut self, id: u32) -> Option<Object> {
        let o = self.objects.remove(&id)?;
        if let Some(slot) = o.list.and_then(|l| self.by_list.get_mut(l.index())) {
            if *slot == id {
                *slot = NONE;
            }
        }
        match o.hop {
            Some(hop) if self.singles.get(&hop) == Some(&id) => {
                self.singles.remove(&hop);
            }
            Some(_) => {}
            None => {
                let key = group_key(&o.members);
                if self.unclaimed.get(&key) == Some(&id) {
                    self.unclaimed.remove(&key);
                }
            }
        }
        Some(o)
    }

    /// Forgets `id` without deleting it in the kernel (it never got there).
    fn remove(&mut self, id: u32) {
        let Some(o) = self.forget(id) else {
            return;
        };
        self.leave_groups(&o);
    }

    /// Queues the deletion of `id` if no route and no group uses it, and
    /// then of its members that nothing else uses.
    fn delete_if_unused(&mut self, id: u32) {
        let unused = self
            .objects
            .get(&id)
            .is_some_and(|o| !o.wanted && o.in_groups == 0);
        if !unused {
            return;
        }
        let Some(o) = self.forget(id) else {
            return;
        };
        self.deletes.push(id);
        self.leave_groups(&o);
    }

    /// The members of a group that went lose it, and go if unused.
    fn leave_groups(&mut self, group: &Object) {
        for m in group.members.iter() {
            if let Some(mo) = self.objects.get_mut(m) {
                mo.in_groups = mo.in_groups.saturating_sub(1);
            }
            self.delete_if_unused(*m);
        }
    }

    fn alloc_id(&mut self) -> u32 {
        loop {
            let id = self.next_id.max(1);
            self.next_id = id.wrapping_add(1);
            if !self.foreign.contains(&id) && !self.objects.contains_key(&id) {
                return id;
            }
        }
    }
}

/// Appends an `RTM_NEWNEXTHOP` that creates (never replaces) `obj`.
pub(super) fn push_new(buf: &mut Vec<u8>, obj: &NewObject, protocol: u8, seq: u32, ack: bool) {
    let flags = nlmsg::NLM_F_REQUEST | nlmsg::NLM_F_CREATE | ack_flag(ack);
    let start = nlmsg::begin(buf, RTM_NEWNEXTHOP, flags, seq);
    match obj {
        NewObject::Single { id, hop } => {
            let family = if hop.gateway.is_ipv4() {
                AF_INET
            } else {
                AF_INET6
            };
            nhmsg(buf, family, protocol);
            nlmsg::attr(buf, NHA_ID, &id.to_ne_bytes());
            match hop.gateway {
                IpAddr::V4(a) => nlmsg::attr(buf, NHA_GATEWAY, &a.octets()),
                IpAddr::V6(a) => nlmsg::attr(buf, NHA_GATEWAY, &a.octets()),
            }
            nlmsg::attr(buf, NHA_OIF, &hop.ifindex.to_ne_bytes());
        }
        NewObject::Group { id, members } => {
            nhmsg(buf, AF_UNSPEC, protocol);
            nlmsg::attr(buf, NHA_ID, &id.to_ne_bytes());
            // struct nexthop_grp { u32 id; u8 weight; u8 weight_high; u16 resvd2; }
            // weight 0 is weight 1: equal shares.
            let mut grp = Vec::with_capacity(members.len() * 8);
            for m in members {
                grp.extend_from_slice(&m.to_ne_bytes());
                grp.extend_from_slice(&[0; 4]);
            }
            nlmsg::attr(buf, NHA_GROUP, &grp);
        }
    }
    nlmsg::finish(buf, start);
}

/// Appends an `RTM_DELNEXTHOP` for `id`.
pub(super) fn push_delete(buf: &mut Vec<u8>, id: u32, seq: u32, ack: bool) {
    let start = nlmsg::begin(
        buf,
        RTM_DELNEXTHOP,
        nlmsg::NLM_F_REQUEST | ack_flag(ack),
        seq,
    );
    nhmsg(buf, AF_UNSPEC, 0);
    nlmsg::attr(buf, NHA_ID, &id.to_ne_bytes());
    nlmsg::finish(buf, start);
}

/// Appends a dump request for every nexthop object.
pub(super) fn push_dump(buf: &mut Vec<u8>, seq: u32) {
    let start = nlmsg::begin(
        buf,
        RTM_GETNEXTHOP,
        nlmsg::NLM_F_REQUEST | nlmsg::NLM_F_DUMP,
        seq,
    );
    nhmsg(buf, AF_UNSPEC, 0);
    nlmsg::finish(buf, start);
}

fn ack_flag(ack: bool) -> u16 {
    if ack {
        nlmsg::NLM_F_ACK
    } else {
        0
    }
}

fn nhmsg(buf: &mut Vec<u8>, family: u8, protocol: u8) {
    buf.extend_from_slice(&[family, 0, protocol, 0]);
    buf.extend_from_slice(&0u32.to_ne_bytes());
}

/// Reads an `RTM_NEWNEXTHOP`/`RTM_DELNEXTHOP` message (a dump reply or a
/// notification); `None` if it is not one or is malformed.
pub(super) fn parse(msg: &[u8]) -> Option<KernelNexthop> {
    let (kind, _) = nlmsg::header(msg)?;
    if kind != RTM_NEWNEXTHOP && kind != RTM_DELNEXTHOP {
        return None;
    }
    let body = msg.get(nlmsg::NLMSG_HDRLEN..)?;
    let protocol = *body.get(2)?;
    let mut attrs = body.get(NHMSG_LEN..)?;
    let (mut id, mut gateway, mut oif, mut group) = (None, None, 0u32, Vec::new());
    while let Some(Ok([l0, l1, k0, k1])) = attrs.get(..4).map(<[u8; 4]>::try_from) {
        let len = usize::from(u16::from_ne_bytes([l0, l1]));
        // NLA_F_NESTED and NLA_F_NET_BYTEORDER are flags, not the type.
        let kind = u16::from_ne_bytes([k0, k1]) & 0x3fff;
        let data = attrs.get(4..len)?;
        match kind {
            NHA_ID => id = Some(u32::from_ne_bytes(data.get(..4)?.try_into().ok()?)),
            NHA_OIF => oif = u32::from_ne_bytes(data.get(..4)?.try_into().ok()?),
            NHA_GATEWAY => {
                gateway = match data.len() {
                    4 => Some(IpAddr::from(<[u8; 4]>::try_from(data).ok()?)),
                    16 => Some(IpAddr::from(<[u8; 16]>::try_from(data).ok()?)),
                    _ => None,
                }
            }
            NHA_GROUP => {
                group = data
                    .chunks_exact(8)
                    .filter_map(|c| c.get(..4)?.try_into().ok().map(u32::from_ne_bytes))
                    .collect();
            }
            _ => {}
        }
        attrs = attrs.get(len.next_multiple_of(4).min(attrs.len())..)?;
    }
    Some(KernelNexthop {
        id: id?,
        protocol,
        hop: gateway.map(|gateway| NextHop {
            gateway,
            ifindex: oif,
        }),
        group,
    })
}

#[cfg(test)]
#[path = "nexthops_tests.rs"]
mod tests;
