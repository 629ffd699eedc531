//! RFC 7606 (revised error handling for UPDATE messages): every kind of
//! malformed attribute gets its prescribed outcome, and the NOTIFICATION
//! for session resets carries the RFC 4271 6.3 code, subcode and data.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bgp_proto::msg::attributes::{AsPath, Origin};
use bgp_proto::wire::update::{AttrAction, NlriField, Update, UpdateError};
use bgp_proto::{Family, SessionContext};
use bytes::Bytes;

const ORIGIN: &[u8] = &[0x40, 1, 1, 0];
const AS_PATH: &[u8] = &[0x40, 2, 6, 2, 1, 0, 0, 0xfe, 0x4c]; // 65100
const NEXT_HOP: &[u8] = &[0x40, 3, 4, 10, 0, 0, 1];
const NLRI: &[u8] = &[24, 10, 241, 0];

fn attr(flags: u8, t: u8, v: &[u8]) -> Vec<u8> {
    let mut a = vec![flags, t];
    if flags & 0x10 != 0 {
        a.extend_from_slice(&(v.len() as u16).to_be_bytes());
    } else {
        a.push(v.len() as u8);
    }
    a.extend_from_slice(v);
    a
}

fn body(withdrawn: &[u8], attrs: &[&[u8]], nlri: &[u8]) -> Bytes {
    let attrs: Vec<u8> = attrs.concat();
    let mut b = (withdrawn.len() as u16).to_be_bytes().to_vec();
    b.extend_from_slice(withdrawn);
    b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    b.extend_from_slice(&attrs);
    b.extend_from_slice(nlri);
    Bytes::from(b)
}

fn ctx4() -> SessionContext {
    SessionContext {
        four_octet_as: true,
        ..Default::default()
    }
}

/// Decodes a valid announcement with `extra` appended after the
/// mandatory attributes.
fn with_extra(extra: &[u8]) -> Update {
    Update::decode(
        body(&[], &[ORIGIN, AS_PATH, NEXT_HOP, extra], NLRI),
        &ctx4(),
    )
    .unwrap()
}

fn reset(b: Bytes, ctx: &SessionContext) -> UpdateError {
    let e = Update::decode(b, ctx).unwrap_err();
    assert_eq!(e.action(), AttrAction::SessionReset, "{e}");
    e
}

fn subcode(e: &UpdateError) -> (u8, u8) {
    let n = e.notification();
    (n.code, n.subcode)
}

#[test]
fn clean_update_has_no_action() {
    let u = with_extra(&[]);
    assert_eq!(u.action(), None);
    assert!(!u.is_treat_as_withdraw());
    assert_eq!(u.nlri().count(), 1);
}

#[test]
fn flags_conflict_is_treat_as_withdraw() {
    // RFC 7606 3 (c): ORIGIN marked optional.
    let b = body(&[], &[&[0xc0, 1, 1, 0], AS_PATH, NEXT_HOP], NLRI);
    let u = Update::decode(b, &ctx4()).unwrap();
    assert!(u.is_treat_as_withdraw());
    assert!(matches!(
        u.issues()[0].error,
        UpdateError::AttributeFlags {
            type_code: 1,
            flags: 0xc0,
            ..
        }
    ));
    // The malformed attribute is not handed out.
    assert_eq!(u.attributes().origin, None);
    assert_eq!(u.raw_attributes().count(), 2);
    // MED marked transitive well-known.
    assert!(with_extra(&attr(0x40, 4, &[0, 0, 0, 1])).is_treat_as_withdraw());
}

#[test]
fn bad_lengths_of_mandatory_and_basic_attributes_are_treat_as_withdraw() {
    for bad in [
        attr(0x40, 1, &[0, 0]),          // ORIGIN, 7.1
        attr(0x40, 3, &[10, 0, 0]),      // NEXT_HOP, 7.3
        attr(0x80, 4, &[0, 0, 1]),       // MED, 7.4
        attr(0x40, 5, &[0, 0, 0, 0, 1]), // LOCAL_PREF, 7.5
        attr(0x80, 9, &[1, 1, 1]),       // ORIGINATOR_ID, 7.9
    ] {
        let t = bad[1];
        let attrs: Vec<&[u8]> = match t {
            1 => vec![&bad, AS_PATH, NEXT_HOP],
            3 => vec![ORIGIN, AS_PATH, &bad],
            _ => vec![ORIGIN, AS_PATH, NEXT_HOP, &bad],
        };
        let u = Update::decode(body(&[], &attrs, NLRI), &ctx4()).unwrap();
        assert_eq!(u.action(), Some(AttrAction::TreatAsWithdraw), "type {t}");
        let e = &u.issues()[0].error;
        assert!(matches!(e, UpdateError::AttributeLength { type_code, .. } if *type_code == t));
        let n = e.notification();
        assert_eq!((n.code, n.subcode, n.data), (3, 5, bad.clone()));
    }
}

#[test]
fn invalid_origin_value_is_treat_as_withdraw() {
    let b = body(&[], &[&[0x40, 1, 1, 3], AS_PATH, NEXT_HOP], NLRI);
    let u = Update::decode(b, &ctx4()).unwrap();
    assert!(u.is_treat_as_withdraw());
    assert!(matches!(
        u.issues()[0].error,
        UpdateError::InvalidOrigin { value: 3, .. }
    ));
    assert_eq!(subcode(&u.issues()[0].error), (3, 6));
}

#[test]
fn malformed_as_path_is_treat_as_withdraw() {
    for v in [
        &[2, 0][..],                // zero-length segment
        &[2, 2, 0, 0, 0, 1][..],    // overrun
        &[2, 1, 0, 0, 0, 1, 2][..], // one octet left over
        &[7, 1, 0, 0, 0, 1][..],    // unknown segment type
    ] {
        let a = attr(0x40, 2, v);
        let u = Update::decode(body(&[], &[ORIGIN, &a, NEXT_HOP], NLRI), &ctx4()).unwrap();
        assert!(u.is_treat_as_withdraw(), "{v:?}");
        assert_eq!(subcode(&u.issues()[0].error), (3, 11));
        assert_eq!(u.attributes().as_path, AsPath::default());
    }
    // A 2-octet path is malformed on a 4-octet session when its length
    // does not fit.
    let a = attr(0x40, 2, &[2, 1, 0xfe, 0x4c]);
    assert!(
        Update::decode(body(&[], &[ORIGIN, &a, NEXT_HOP], NLRI), &ctx4())
            .unwrap()
            .is_treat_as_withdraw()
    );
}

#[test]
fn atomic_aggregate_and_aggregator_bad_length_are_discarded() {
    let u = with_extra(&attr(0x40, 6, &[1]));
    assert_eq!(u.action(), Some(AttrAction::Discard));
    let pa = u.attributes();
    assert!(!pa.atomic_aggregate);
    assert_eq!(pa.origin, Some(Origin::Igp));
    assert_eq!(u.nlri().count(), 1);
    // 6 octets on a 4-octet session.
    let u = with_extra(&attr(0xc0, 7, &[0xfe, 0x4c, 10, 0, 0, 1]));
    assert_eq!(u.action(), Some(AttrAction::Discard));
    assert_eq!(u.attributes().aggregator, None);
    assert_eq!(u.issues().len(), 1);
    assert_eq!(u.issues()[0].error.type_code(), Some(7));
}

#[test]
fn malformed_community_lists_are_treat_as_withdraw() {
    for (t, v) in [
        (8u8, &[0u8; 5][..]), // COMMUNITIES, 7.8
        (8, &[][..]),
        (10, &[0; 6][..]),  // CLUSTER_LIST, 7.10
        (16, &[0; 7][..]),  // EXTENDED_COMMUNITIES, 7.14
        (32, &[0; 10][..]), // LARGE_COMMUNITIES, RFC 8092
    ] {
        let f = if t == 10 { 0x80 } else { 0xc0 };
        let u = with_extra(&attr(f, t, v));
        assert_eq!(
            u.action(),
            Some(AttrAction::TreatAsWithdraw),
            "type {t} len {}",
            v.len()
        );
    }
    let ok = with_extra(&attr(0xc0, 8, &[0xfe, 0x4c, 0, 1]));
    assert_eq!(ok.action(), None);
    assert_eq!(ok.attributes().communities.len(), 1);
}

#[test]
fn malformed_mp_reach_resets_the_session() {
    // RFC 7606 7.11: IPv6 next hop of 5 octets.
    let mp = attr(
        0x80,
        14,
        &[
            0, 2, 1, 5, 1, 2, 3, 4, 5, 0, 64, 0xfd, 0, 0, 0x10, 0, 0, 0, 0,
        ],
    );
    let e = reset(body(&[], &[&mp, ORIGIN, AS_PATH], &[]), &ctx4());
    assert!(matches!(
        e,
        UpdateError::OptionalAttribute { type_code: 14, .. }
    ));
    let n = e.notification();
    assert_eq!((n.code, n.subcode, n.data), (3, 9, mp.clone()));
    // Too short to hold AFI/SAFI/next hop length.
    let e = reset(body(&[], &[&attr(0x80, 14, &[0, 2])], &[]), &ctx4());
    assert_eq!(subcode(&e), (3, 9));
    // Prefix longer than 128 bits: RFC 7606 5.3.
    let mp = attr(0x80, 14, &[0, 2, 1, 4, 10, 0, 0, 1, 0, 129, 0]);
    let e = reset(body(&[], &[&mp, ORIGIN, AS_PATH], &[]), &ctx4());
    assert!(matches!(
        e,
        UpdateError::InvalidNetworkField {
            field: NlriField::MpReach,
            ..
        }
    ));
    // MP_UNREACH with an overrunning prefix.
    let e = reset(
        body(&[], &[&attr(0x80, 15, &[0, 2, 1, 64, 0xfd])], &[]),
        &ctx4(),
    );
    assert_eq!(subcode(&e), (3, 10));
    // A flags conflict on MP_REACH is treat-as-withdraw, NLRI still parsed.
    let mp = attr(
        0xc0,
        14,
        &[
            0, 2, 1, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1, 0, 16, 0xfd, 0,
        ],
    );
    let u = Update::decode(body(&[], &[&mp, ORIGIN, AS_PATH], &[]), &ctx4()).unwrap();
    assert!(u.is_treat_as_withdraw());
    assert_eq!(u.mp_reach().unwrap().nlri().count(), 1);
}

#[test]
fn duplicates_are_discarded_except_mp_which_reset() {
    let u = with_extra(&[attr(0x80, 4, &[0, 0, 0, 1]), attr(0x80, 4, &[0, 0, 0, 2])].concat());
    assert_eq!(u.action(), Some(AttrAction::Discard));
    assert_eq!(u.attributes().med, Some(1));
    assert!(matches!(
        u.issues()[0].error,
        UpdateError::DuplicateAttribute { type_code: 4, .. }
    ));
    let eor = attr(0x80, 15, &[0, 2, 1]);
    let e = reset(body(&[], &[&eor, &eor], &[]), &ctx4());
    assert_eq!(subcode(&e), (3, 1));
}

#[test]
fn missing_mandatory_attributes_are_treat_as_withdraw() {
    let u = Update::decode(body(&[], &[AS_PATH, NEXT_HOP], NLRI), &ctx4()).unwrap();
    assert!(u.is_treat_as_withdraw());
    let n = u.issues()[0].error.notification();
    assert_eq!((n.code, n.subcode, n.data), (3, 3, vec![1]));
    let u = Update::decode(body(&[], &[ORIGIN, AS_PATH], NLRI), &ctx4()).unwrap();
    assert!(matches!(
        u.issues()[0].error,
        UpdateError::MissingWellKnown { type_code: 3 }
    ));
    // MP_REACH-only: NEXT_HOP is not needed (RFC 4760).
    let mp = attr(
        0x80,
        14,
        &[
            0, 2, 1, 16, 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 32, 0x20, 1,
            0x0d, 0xb8,
        ],
    );
    let u = Update::decode(body(&[], &[&mp, ORIGIN, AS_PATH], &[]), &ctx4()).unwrap();
    assert_eq!(u.action(), None);
    assert_eq!(
        u.announced_families().collect::<Vec<_>>(),
        vec![Family::IPV6_UNICAST]
    );
    // Withdrawals alone need nothing.
    let u = Update::decode(body(&[24, 10, 0, 0], &[], &[]), &ctx4()).unwrap();
    assert_eq!(u.action(), None);
    assert_eq!(u.withdrawn().count(), 1);
}

#[test]
fn attribute_overrunning_the_list_is_treat_as_withdraw() {
    // RFC 7606 4: MED claims 9 octets, only 4 are in the attribute list;
    // the NLRI field is still found from the Total Path Attribute Length.
    let u = with_extra(&[0x80, 4, 9, 0, 0, 0, 1]);
    assert!(u.is_treat_as_withdraw());
    assert!(matches!(
        u.issues()[0].error,
        UpdateError::AttributeOverrun {
            type_code: Some(4),
            ..
        }
    ));
    assert_eq!(u.nlri().count(), 1);
    assert_eq!(u.attributes().origin, Some(Origin::Igp));
    // Fewer than three octets left for a header.
    assert!(with_extra(&[0x80, 4]).is_treat_as_withdraw());
    // A cut MP_REACH hides NLRI: reset.
    let e = reset(body(&[], &[ORIGIN, &[0x80, 14, 30, 0, 2, 1]], &[]), &ctx4());
    assert!(matches!(
        e,
        UpdateError::AttributeOverrun {
            type_code: Some(14),
            ..
        }
    ));
}

#[test]
fn length_fields_overrunning_the_message_reset() {
    // Total Path Attribute Length too large.
    let mut b = body(&[], &[ORIGIN], &[]).to_vec();
    b[3] = 50;
    let e = reset(Bytes::from(b), &ctx4());
    assert!(matches!(e, UpdateError::MalformedAttributeList { .. }));
    assert_eq!(subcode(&e), (3, 1));
    // Withdrawn Routes Length too large.
    let e = reset(Bytes::from_static(&[0, 9, 0, 0]), &ctx4());
    assert_eq!(subcode(&e), (3, 1));
    // Shorter than the two length fields.
    let e = reset(Bytes::from_static(&[0, 0, 0]), &ctx4());
    assert_eq!(subcode(&e), (1, 2));
}

#[test]
fn malformed_nlri_fields_reset() {
    let attrs: &[&[u8]] = &[ORIGIN, AS_PATH, NEXT_HOP];
    let e = reset(body(&[], attrs, &[33, 1, 2, 3, 4, 5]), &ctx4());
    assert!(matches!(
        e,
        UpdateError::InvalidNetworkField {
            field: NlriField::Nlri,
            ..
        }
    ));
    assert_eq!(subcode(&e), (3, 10));
    let e = reset(body(&[], attrs, &[24, 10, 241]), &ctx4());
    assert_eq!(subcode(&e), (3, 10));
    let e = reset(body(&[16, 10], &[], &[]), &ctx4());
    assert!(matches!(
        e,
        UpdateError::InvalidNetworkField {
            field: NlriField::Withdrawn,
            offset: 2,
            ..
        }
    ));
    // With ADD-PATH a field cut inside the path identifier.
    let ap = SessionContext {
        add_path_receive: vec![Family::IPV4_UNICAST],
        ..ctx4()
    };
    reset(body(&[0, 0, 1], &[], &[]), &ap);
}

#[test]
fn unrecognized_well_known_resets_unknown_optional_is_kept() {
    let a = attr(0x40, 100, &[1, 2]);
    let e = reset(body(&[], &[ORIGIN, AS_PATH, NEXT_HOP, &a], NLRI), &ctx4());
    let n = e.notification();
    assert_eq!((n.code, n.subcode, n.data), (3, 2, a));
    let u = with_extra(&attr(0xc0, 100, &[1, 2]));
    assert_eq!(u.action(), None);
    let pa = u.attributes();
    assert_eq!(pa.unknown.len(), 1);
    assert_eq!(
        (
            pa.unknown[0].flags,
            pa.unknown[0].type_code,
            &pa.unknown[0].value[..]
        ),
        (0xc0, 100, &[1u8, 2][..])
    );
}

#[test]
fn as4_attributes() {
    // On a 4-octet session AS4_PATH is discarded (RFC 6793 6).
    let as4 = attr(0xc0, 17, &[2, 1, 0xfa, 0x56, 0xea, 0x01]);
    let u = with_extra(&as4);
    assert_eq!(u.action(), Some(AttrAction::Discard));
    assert_eq!(u.attributes().as_path, AsPath::from_sequence(vec![65100]));
    // On a 2-octet session a malformed AS4_PATH is discarded, AS_PATH kept.
    let two = SessionContext::default();
    let p2 = attr(0x40, 2, &[2, 1, 0x5b, 0xa0]);
    let bad4 = attr(0xc0, 17, &[2, 2, 0xfa, 0x56, 0xea, 0x01]);
    let u = Update::decode(body(&[], &[ORIGIN, &p2, NEXT_HOP, &bad4], NLRI), &two).unwrap();
    assert_eq!(u.action(), Some(AttrAction::Discard));
    assert_eq!(u.attributes().as_path, AsPath::from_sequence(vec![23456]));
    // A good one is merged.
    let u = Update::decode(body(&[], &[ORIGIN, &p2, NEXT_HOP, &as4], NLRI), &two).unwrap();
    assert_eq!(u.action(), None);
    assert_eq!(
        u.attributes().as_path,
        AsPath::from_sequence(vec![4_200_000_001])
    );
    // AS4_AGGREGATOR of the wrong length: discarded.
    let agg4 = attr(0xc0, 18, &[0, 0, 0, 1, 1]);
    let u = Update::decode(body(&[], &[ORIGIN, &p2, NEXT_HOP, &agg4], NLRI), &two).unwrap();
    assert_eq!(u.action(), Some(AttrAction::Discard));
}

#[test]
fn strongest_action_wins() {
    // RFC 7606 3 (j).
    let u = with_extra(&[attr(0x40, 6, &[1]), attr(0x80, 4, &[1])].concat());
    assert_eq!(u.issues().len(), 2);
    assert_eq!(u.action(), Some(AttrAction::TreatAsWithdraw));
}

#[test]
fn unsupported_family_is_ignored_but_end_of_rib_recognised() {
    // AFI 1 SAFI 128 (L3VPN): NLRI not parsed, attribute reported.
    let mp = attr(
        0x80,
        14,
        &[
            0, 1, 128, 12, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1, 0, 88, 1, 2, 3,
        ],
    );
    let u = Update::decode(body(&[], &[&mp, ORIGIN, AS_PATH], &[]), &ctx4()).unwrap();
    assert_eq!(u.action(), Some(AttrAction::Discard));
    assert!(!u.mp_reach().unwrap().is_supported());
    assert_eq!(u.mp_reach().unwrap().nlri().count(), 0);
    let eor = attr(0x80, 15, &[0, 1, 128]);
    let u = Update::decode(body(&[], &[&eor], &[]), &ctx4()).unwrap();
    assert_eq!(u.end_of_rib(), Some(Family::new(1, 128)));
}

#[test]
fn treat_as_withdraw_moves_announcements_to_withdrawals() {
    let v4 = |s: &str| bgp_proto::Nlri::new(s.parse().unwrap());
    let mp = attr(
        0x80,
        14,
        &[
            0, 2, 1, 16, 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 32, 0x20, 1,
            0x0d, 0xb8,
        ],
    );
    let clean = Update::decode(
        body(&[8, 10], &[&mp, ORIGIN, AS_PATH, NEXT_HOP], NLRI),
        &ctx4(),
    )
    .unwrap();
    assert_eq!(
        clean.announcements().collect::<Vec<_>>(),
        vec![
            (Family::IPV4_UNICAST, v4("10.241.0.0/24")),
            (Family::IPV6_UNICAST, v4("2001:db8::/32"))
        ]
    );
    assert_eq!(
        clean.withdrawals().collect::<Vec<_>>(),
        vec![(Family::IPV4_UNICAST, v4("10.0.0.0/8"))]
    );
    // The same with a malformed MED.
    let bad = attr(0x80, 4, &[0, 1]);
    let u = Update::decode(
        body(&[8, 10], &[&mp, ORIGIN, AS_PATH, NEXT_HOP, &bad], NLRI),
        &ctx4(),
    )
    .unwrap();
    assert!(u.is_treat_as_withdraw());
    assert_eq!(u.announcements().count(), 0);
    assert_eq!(
        u.withdrawals().collect::<Vec<_>>(),
        vec![
            (Family::IPV4_UNICAST, v4("10.0.0.0/8")),
            (Family::IPV4_UNICAST, v4("10.241.0.0/24")),
            (Family::IPV6_UNICAST, v4("2001:db8::/32")),
        ]
    );
}
