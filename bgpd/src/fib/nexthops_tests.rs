//! The nexthop object registry and its messages.

use super::*;

const OURS: u8 = 186;

fn nh(gw: &str, ifindex: u32) -> NextHop {
    NextHop {
        gateway: gw.parse().unwrap(),
        ifindex,
    }
}

/// The manager's list `n`.
fn l(n: u32) -> ListId {
    ListId(n)
}

fn single(id: u32, gw: &str, ifindex: u32) -> KernelNexthop {
    KernelNexthop {
        id,
        protocol: OURS,
        hop: Some(nh(gw, ifindex)),
        group: Vec::new(),
    }
}

fn group(id: u32, members: &[u32]) -> KernelNexthop {
    KernelNexthop {
        id,
        protocol: OURS,
        hop: None,
        group: members.to_vec(),
    }
}

#[test]
fn a_list_is_created_once_and_then_named() {
    let mut r = NexthopObjects::new();
    let mut create = Vec::new();
    let a = [nh("172.18.0.2", 2)];
    let id = r.id_for(false, l(0), &a, &mut create).unwrap();
    assert_eq!(create, vec![NewObject::Single { id, hop: a[0] }]);
    create.clear();
    assert_eq!(r.id_for(false, l(0), &a, &mut create), Some(id));
    assert!(create.is_empty());
    assert!(r.holds(id));
    assert_eq!(r.hops(id), Some(a.to_vec()));
}

#[test]
fn an_ecmp_list_is_a_group_over_shared_singles() {
    let mut r = NexthopObjects::new();
    let mut create = Vec::new();
    let (a, b, c) = (
        nh("172.18.0.2", 2),
        nh("172.18.0.3", 2),
        nh("172.18.0.4", 2),
    );
    let single_a = r.id_for(false, l(0), &[a], &mut create).unwrap();
    let ab = r.id_for(false, l(1), &[a, b], &mut create).unwrap();
    let bc = r.id_for(false, l(2), &[b, c], &mut create).unwrap();
    let ids: Vec<u32> = create.iter().map(NewObject::id).collect();
    // a, then b and the group a+b, then c and the group b+c: members first.
    assert_eq!(ids.len(), 5);
    let single_b = ids[1];
    let single_c = ids[3];
    assert_eq!(
        create[2],
        NewObject::Group {
            id: ab,
            members: vec![single_a, single_b]
        }
    );
    assert_eq!(
        create[4],
        NewObject::Group {
            id: bc,
            members: vec![single_b, single_c]
        }
    );
    // Dropping a+b deletes the group; b stays for b+c, a for its routes.
    r.release(l(1), &[a, b]);
    assert_eq!(r.take_deletes(), vec![ab]);
    // Dropping b+c deletes the group, then b and c: no route uses them.
    r.release(l(2), &[b, c]);
    assert_eq!(r.take_deletes(), vec![bc, single_b, single_c]);
    assert!(r.holds(single_a));
    r.release(l(0), &[a]);
    assert_eq!(r.take_deletes(), vec![single_a]);
    assert_eq!(r.len(), 0);
}

#[test]
fn a_single_held_by_a_group_outlives_its_own_routes() {
    let mut r = NexthopObjects::new();
    let mut create = Vec::new();
    let (a, b) = (nh("10.0.0.2", 2), nh("10.0.0.3", 2));
    let single_a = r.id_for(false, l(0), &[a], &mut create).unwrap();
    let ab = r.id_for(false, l(1), &[a, b], &mut create).unwrap();
    r.release(l(0), &[a]);
    assert!(r.take_deletes().is_empty(), "the group still holds a");
    assert!(r.holds(single_a));
    r.release(l(1), &[a, b]);
    let deletes = r.take_deletes();
    assert_eq!(deletes.first(), Some(&ab), "the group goes first");
    assert_eq!(deletes.len(), 3);
}

#[test]
fn lists_that_cannot_be_objects_are_written_plainly() {
    let mut r = NexthopObjects::new();
    let mut create = Vec::new();
    assert_eq!(r.id_for(false, l(0), &[], &mut create), None);
    // No interface known.
    assert_eq!(
        r.id_for(false, l(1), &[nh("10.0.0.2", 0)], &mut create),
        None
    );
    // An IPv6 route via an IPv4 gateway; a list mixing families.
    assert_eq!(
        r.id_for(true, l(2), &[nh("10.0.0.2", 2)], &mut create),
        None
    );
    let mixed = [nh("10.0.0.2", 2), nh("2001:db8::1", 2)];
    assert_eq!(r.id_for(false, l(3), &mixed, &mut create), None);
    assert!(create.is_empty());
    // One list of IPv6 gateways: an IPv6 route and an IPv4 one (RFC 8950)
    // name the same object.
    let v6 = [nh("2001:db8::1", 2)];
    let id = r.id_for(true, l(4), &v6, &mut create);
    assert!(id.is_some());
    assert_eq!(r.id_for(false, l(4), &v6, &mut create), id);
}

#[test]
fn a_refused_creation_is_forgotten_and_a_clash_avoided() {
    let mut r = NexthopObjects::new();
    let mut create = Vec::new();
    let a = [nh("10.0.0.2", 2)];
    let first = r.id_for(false, l(0), &a, &mut create).unwrap();
    r.failed(first, -libc::EEXIST);
    assert!(!r.holds(first));
    let second = r.id_for(false, l(0), &a, &mut create).unwrap();
    assert_ne!(first, second, "someone else's id is never picked again");
    r.failed(second, -libc::EINVAL);
    assert!(!r.holds(second));
    // A refused group frees the singles it created for itself.
    let (b, c) = (nh("10.0.0.3", 2), nh("10.0.0.4", 2));
    create.clear();
    let bc = r.id_for(false, l(1), &[b, c], &mut create).unwrap();
    r.failed(bc, -libc::EINVAL);
    assert_eq!(r.take_deletes().len(), 2);
    assert_eq!(r.len(), 0);
}

#[test]
fn sync_follows_the_kernel() {
    let mut r = NexthopObjects::new();
    let mut create = Vec::new();
    let a = nh("10.0.0.2", 2);
    let mine = r.id_for(false, l(0), &[a], &mut create).unwrap();
    // The kernel lost `mine` (its link went down), holds a previous run's
    // single and group, and someone else's object with a high id.
    let kernel = vec![
        single(40, "10.0.0.3", 2),
        single(41, "10.0.0.4", 2),
        group(42, &[41, 40]),
        KernelNexthop {
            id: 900,
            protocol: 11,
            hop: Some(nh("10.0.0.9", 2)),
            group: Vec::new(),
        },
    ];
    r.sync(&kernel, OURS, None);
    assert!(!r.holds(mine));
    assert!(!r.holds(900));
    assert_eq!(r.len(), 3);
    // Adopted objects are claimed by the first lists with their next
    // hops (a group by its members, whatever their order).
    create.clear();
    let both = [nh("10.0.0.3", 2), nh("10.0.0.4", 2)];
    assert_eq!(r.id_for(false, l(1), &both, &mut create), Some(42));
    assert_eq!(
        r.id_for(false, l(2), &[nh("10.0.0.3", 2)], &mut create),
        Some(40)
    );
    assert!(create.is_empty());
    // New ids go above every id in the kernel.
    let new = r.id_for(false, l(0), &[a], &mut create).unwrap();
    assert!(new > 900, "{new}");
    // A full route dump naming only 40: the group goes, then 41; 40 stays,
    // and the new one, not in the kernel, is forgotten.
    let referenced: FastSet<u32> = [40].into_iter().collect();
    r.sync(&kernel, OURS, Some(&referenced));
    assert_eq!(r.take_deletes(), vec![42, 41]);
    assert!(r.holds(40));
    assert!(!r.holds(new));
}

#[test]
fn messages_round_trip() {
    let mut buf = Vec::new();
    push_new(
        &mut buf,
        &NewObject::Single {
            id: 7,
            hop: nh("172.18.0.2", 3),
        },
        OURS,
        1,
        false,
    );
    push_new(
        &mut buf,
        &NewObject::Group {
            id: 9,
            members: vec![7, 8],
        },
        OURS,
        2,
        true,
    );
    push_new(
        &mut buf,
        &NewObject::Single {
            id: 10,
            hop: nh("2001:db8::1", 4),
        },
        OURS,
        3,
        false,
    );
    push_delete(&mut buf, 9, 4, true);
    let msgs: Vec<&[u8]> = nlmsg::split(&buf).collect();
    assert_eq!(msgs.len(), 4);
    assert_eq!(parse(msgs[0]), Some(single(7, "172.18.0.2", 3)));
    assert_eq!(parse(msgs[1]), Some(group(9, &[7, 8])));
    assert_eq!(parse(msgs[2]), Some(single(10, "2001:db8::1", 4)));
    let del = parse(msgs[3]).unwrap();
    assert_eq!((del.id, del.hop, del.group.len()), (9, None, 0));
    assert_eq!(nlmsg::header(msgs[3]).map(|h| h.0), Some(RTM_DELNEXTHOP));
    // Truncated or foreign messages are not nexthops.
    assert_eq!(parse(&msgs[0][..20]), None);
    let mut dump = Vec::new();
    push_dump(&mut dump, 5);
    assert_eq!(parse(&dump), None);
}

#[test]
fn a_group_the_kernel_shrank_is_not_named_for_the_full_list() {
    let mut r = NexthopObjects::new();
    let mut create = Vec::new();
    let (a, b) = (nh("10.0.0.2", 2), nh("10.0.0.3", 2));
    let ab = r.id_for(false, l(0), &[a, b], &mut create).unwrap();
    let ids: Vec<u32> = create.iter().map(NewObject::id).collect();
    let (ia, ib) = (ids[0], ids[1]);
    // Someone deleted `a`: the kernel shrank the group to `b`.
    let kernel = vec![single(ib, "10.0.0.3", 2), group(ab, &[ib])];
    r.sync(&kernel, OURS, None);
    assert!(!r.holds(ia));
    assert_eq!(r.hops(ab), Some(vec![b]));
    create.clear();
    let again = r.id_for(false, l(0), &[a, b], &mut create).unwrap();
    assert_ne!(again, ab, "a new group for the full list");
    assert_eq!(create.len(), 2, "a new single for `a`, then the group");
}

#[test]
fn a_previous_runs_group_goes_with_the_first_list_released() {
    let mut r = NexthopObjects::new();
    let (a, b) = (nh("10.0.0.2", 2), nh("10.0.0.3", 2));
    // Adopted at start: two singles and their group, all named by routes.
    let kernel = vec![
        single(40, "10.0.0.2", 2),
        single(41, "10.0.0.3", 2),
        group(42, &[40, 41]),
    ];
    let referenced: FastSet<u32> = [40, 42].into_iter().collect();
    r.sync(&kernel, OURS, Some(&referenced));
    assert_eq!(r.take_deletes(), Vec::<u32>::new());
    // The routes of list 7 (a+b) move away before any route names it:
    // the group goes by its next hops, then the single only it held.
    r.release(l(7), &[b, a]);
    assert_eq!(r.take_deletes(), vec![42, 41]);
    assert!(r.holds(40));
    // A list id reused later means a new list.
    let mut create = Vec::new();
    let id = r.id_for(false, l(7), &[b], &mut create).unwrap();
    assert_ne!(id, 41);
    assert_eq!(create.len(), 1);
}

#[test]
fn an_object_someone_changed_is_adopted_as_it_is_now() {
    let mut r = NexthopObjects::new();
    let mut create = Vec::new();
    let (a, b) = (nh("10.0.0.2", 2), nh("10.0.0.3", 2));
    let ab = r.id_for(false, l(0), &[a, b], &mut create).unwrap();
    let (ia, ib) = (create[0].id(), create[1].id());
    // `ip nexthop replace id <a> via 10.0.0.9`: the single and the group
    // over it are no longer what list 0 names.
    let kernel = vec![
        single(ia, "10.0.0.9", 2),
        single(ib, "10.0.0.3", 2),
        group(ab, &[ia, ib]),
    ];
    r.sync(&kernel, OURS, None);
    assert_eq!(r.hops(ab), Some(vec![nh("10.0.0.3", 2), nh("10.0.0.9", 2)]));
    create.clear();
    let again = r.id_for(false, l(0), &[a, b], &mut create).unwrap();
    assert_ne!(again, ab);
}
