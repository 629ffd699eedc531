//! Export rounds over the RIB's export groups: peers of one kind share a
//! drain of the change log and the encoding of its UPDATEs (`rib`'s
//! `export_group.rs`); this module decides who may share and hands every
//! member its messages.

use super::encoded_view::{EncodedSet, EncodedView};
use super::{export, Core};
use crate::peer::PeerId;
use bgp_proto::msg::SessionContext;
use bgp_proto::Family;
use bytes::{Bytes, BytesMut};
use rib::ExportBatch;
use rib::MemberBatch;
use std::collections::HashMap;
use std::ops::Range;

/// The families a group's view is kept for, in the RIB's order.
const FAMILIES: [Family; 2] = [Family::IPV4_UNICAST, Family::IPV6_UNICAST];

/// How a session encodes UPDATEs: sessions with different tags never
/// share messages.
fn encoding_tag(ctx: &SessionContext) -> u64 {
    [
        ctx.four_octet_as,
        ctx.extended_message,
        ctx.add_path_tx(Family::IPV4_UNICAST),
        ctx.add_path_tx(Family::IPV6_UNICAST),
        ctx.ipv6_next_hop_for(Family::IPV4_UNICAST),
    ]
    .iter()
    .enumerate()
    .fold(0, |tag, (bit, &on)| tag | (u64::from(on) << bit))
}

/// A drain's shared batches, encoded into one buffer.
struct SharedBlock {
    bytes: Bytes,
    /// Each batch's messages in `bytes`.
    ranges: Vec<Range<usize>>,
    /// How many batches before each (and, last, in all) are
    /// announcements sent as withdrawals.
    withdrawn_before: Vec<usize>,
}

impl SharedBlock {
    fn encode(ctx: &SessionContext, batches: &[ExportBatch]) -> SharedBlock {
        let mut buf = BytesMut::new();
        let mut ranges = Vec::with_capacity(batches.len());
        let mut withdrawn_before = Vec::with_capacity(batches.len() + 1);
        withdrawn_before.push(0);
        let mut withdrawn = 0;
        for b in batches {
            let (msgs, w) = export::encode_batch(ctx, b);
            let start = buf.len();
            for m in msgs {
                buf.extend_from_slice(&m);
            }
            ranges.push(start..buf.len());
            withdrawn += usize::from(w);
            withdrawn_before.push(withdrawn);
        }
        SharedBlock {
            bytes: buf.freeze(),
            ranges,
            withdrawn_before,
        }
    }

    /// The octets of the batches `run`, and how many of them are
    /// announcements sent as withdrawals.
    fn run(&self, run: &Range<usize>) -> Option<(Range<usize>, usize)> {
        let first = self.ranges.get(run.start)?;
        let last = self.ranges.get(run.end.checked_sub(1)?)?;
        let w = self.withdrawn_before.get(run.end)? - self.withdrawn_before.get(run.start)?;
        Some((first.start..last.end, w))
    }

    /// Announcements sent as withdrawals in all the batches.
    fn withdrawn(&self) -> usize {
        self.withdrawn_before.last().copied().unwrap_or(0)
    }
}

impl Core {
    /// The initial table of the just-established `rib_id` when it joins
    /// its export group at once: its view of the group's, and whether that
    /// is the whole table (else the rest comes with the group's next
    /// drain, and End-of-RIB after it); `None` when it has no group to
    /// join.
    pub(super) fn initial_from_group(
        &mut self,
        rib_id: u32,
        ctx: &SessionContext,
        too_big: &mut usize,
    ) -> Option<(Vec<Bytes>, bool)> {
        let join = self.rib.join_established(rib_id, encoding_tag(ctx))?;
        let msgs = self.group_view_msgs(rib_id, ctx, join, too_big);
        Some((msgs, join.caught_up))
    }

    /// A joining member's view: the group's encoded view (brought up to
    /// date: the sets that changed since the last join encoded again; all
    /// members encode alike) but for the sets it is not sent in full, and
    /// its part of those.
    fn group_view_msgs(
        &mut self,
        rib_id: u32,
        ctx: &SessionContext,
        join: rib::GroupJoin,
        too_big: &mut usize,
    ) -> Vec<Bytes> {
        let view = self
            .views
            .entry(join.group)
            .or_insert_with(|| EncodedView::new(join.founded));
        if view.founded != join.founded {
            *view = EncodedView::new(join.founded);
        }
        let changes = self.rib.take_view_changes(join.group);
        let mut hidden = Vec::new();
        let mut own = BytesMut::new();
        let excluded = self.rib.member_excluded_sets(rib_id);
        for ((fi, family), (changed, excluded)) in
            (0u8..).zip(FAMILIES).zip(changes.into_iter().zip(excluded))
        {
            let sets = match &changed {
                None => {
                    view.invalidate_family(fi);
                    self.rib.group_view_sets(join.group, family, None)
                }
                Some(list) if list.is_empty() => Vec::new(),
                Some(list) => {
                    for &a in list {
                        view.invalidate((fi, a));
                    }
                    self.rib.group_view_sets(join.group, family, Some(list))
                }
            };
            view.add(
                sets.iter()
                    .map(|(attr, batch)| {
                        let (msgs, w) = export::encode_batch(ctx, batch);
                        EncodedSet {
                            key: (fi, *attr),
                            msgs,
                            withdrawn: usize::from(w),
                        }
                    })
                    .collect(),
            );
            if !excluded.is_empty() {
                for (_, batch) in self.rib.member_view_sets(rib_id, family, &excluded) {
                    let (msgs, w) = export::encode_batch(ctx, &batch);
                    *too_big += usize::from(w);
                    for m in msgs {
                        own.extend_from_slice(&m);
                    }
                }
                hidden.extend(excluded.into_iter().map(|a| (fi, a)));
            }
        }
        view.tidy();
        let (mut msgs, w) = view.slices(&hidden);
        *too_big += w;
        if !own.is_empty() {
            msgs.push(own.freeze());
        }
        msgs
    }

    /// Forgets the encoded views of groups that are gone.
    pub(super) fn forget_views(&mut self) {
        let rib = &self.rib;
        self.views
            .retain(|&g, v| rib.group_founded(g) == Some(v.founded));
    }

    /// End-of-RIB for the sessions that joined their group before it had
    /// drained every change, now that the round sent them the rest.
    pub(super) fn end_of_rib_after_round(&mut self, round: u64) {
        // One whose queue filled (and that left its group) may still hold
        // part of the rest: it waits until that is out too.
        // Only the sessions waiting are looked at, not every session.
        let rib = &self.rib;
        let sessions = &mut self.sessions;
        let mut due = Vec::new();
        self.eor_waiting.retain(|peer| {
            let Some(s) = sessions.get_mut(peer) else {
                return false;
            };
            let Some(after) = s.eor_after_round else {
                return false;
            };
            if after <= round && !s.congested && !s.suspended && !rib.exports_pending(s.rib_id) {
                s.eor_after_round = None;
                due.push(*peer);
                return false;
            }
            true
        });
        for peer in due {
            if let Some(s) = self.sessions.get(&peer) {
                let msgs =
                    export::end_of_ribs(&s.info.negotiated.context, &s.info.negotiated.families);
                self.send(peer, crate::peer::PeerCommand::Send(msgs));
            }
        }
    }

    /// Before a round: members whose write queue is full leave their group
    /// (held, they drain on their own: one slow peer never holds back its
    /// group).
    pub(super) fn split_congested(&mut self) {
        let congested: Vec<u32> = self
            .sessions
            .values()
            .filter(|s| s.congested)
            .map(|s| s.rib_id)
            .collect();
        for id in congested {
            if self.rib.export_group(id).is_some() {
                if let Err(e) = self.rib.leave_group(id) {
                    tracing::warn!(error = %e, "leaving an export group");
                }
            }
        }
    }

    /// After a round, when every session that could drain has: those on
    /// their own join their group (or three of a kind found one).
    pub(super) fn regroup(&mut self) {
        let ready: HashMap<u32, u64> = self
            .sessions
            .values()
            .filter(|s| !s.congested && !s.suspended && !s.refresh_held.contains(&true))
            .map(|s| (s.rib_id, encoding_tag(&s.info.negotiated.context)))
            .collect();
        self.rib.regroup(|id| ready.get(&id).copied());
        self.forget_views();
    }

    /// Drains export group `group` and stashes every member's messages in
    /// the round: the shared batches are encoded once.
    pub(super) fn export_group(&mut self, group: u32, round: &mut super::ExportRound) {
        let share = round.share;
        let export = self.rib.drain_group(group);
        if export.shared.is_empty() && export.own.iter().all(|(_, b)| b.is_empty()) {
            return;
        }
        let mut members: Vec<(PeerId, u32)> = self
            .sessions
            .iter()
            .filter(|(_, s)| export.members.binary_search(&s.rib_id).is_ok())
            .map(|(&peer, s)| (peer, s.rib_id))
            .collect();
        members.sort_unstable();
        // The shared batches encoded once (all members encode alike), into
        // one buffer: a member takes slices of it, not a handle per message.
        let mut shared: Option<SharedBlock> = None;
        for (peer, rib_id) in members {
            let Some(s) = self.sessions.get(&peer) else {
                continue;
            };
            let ctx = &s.info.negotiated.context;
            let block = shared.get_or_insert_with(|| SharedBlock::encode(ctx, &export.shared));
            let mut too_big = 0;
            let msgs = match export.own.binary_search_by_key(&rib_id, |(p, _)| *p) {
                Ok(i) => {
                    let mut msgs = Vec::new();
                    // A run of consecutive shared batches, as one slice.
                    let mut run: Option<Range<usize>> = None;
                    for item in export.own.get(i).map_or(&[][..], |(_, b)| b.as_slice()) {
                        match item {
                            MemberBatch::Shared(j) => {
                                let Some((r, w)) = block.run(j) else {
                                    continue;
                                };
                                too_big += w;
                                run = match run {
                                    Some(prev) if prev.end == r.start => Some(prev.start..r.end),
                                    Some(prev) => {
                                        msgs.push(block.bytes.slice(prev));
                                        Some(r)
                                    }
                                    None => Some(r),
                                };
                            }
                            MemberBatch::Own(b) => {
                                if let Some(prev) = run.take() {
                                    msgs.push(block.bytes.slice(prev));
                                }
                                if share {
                                    msgs.extend(self.encoded.encode(
                                        ctx,
                                        vec![b.clone()],
                                        &mut too_big,
                                    ));
                                } else {
                                    let (m, withdrawn) = export::encode_batch(ctx, b);
                                    msgs.extend(m);
                                    too_big += usize::from(withdrawn);
                                }
                            }
                        }
                    }
                    if let Some(prev) = run {
                        msgs.push(block.bytes.slice(prev));
                    }
                    msgs.retain(|m| !m.is_empty());
                    msgs
                }
                Err(_) => {
                    too_big = block.withdrawn();
                    if block.bytes.is_empty() {
                        Vec::new()
                    } else {
                        vec![block.bytes.clone()]
                    }
                }
            };
            if !msgs.is_empty() {
                round.stash.insert(peer, msgs);
            }
            if too_big > 0 {
                self.too_big(peer, too_big);
            }
        }
    }
}
