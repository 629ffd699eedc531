//! Zero-copy: decoding a captured UPDATE and iterating it allocate
//! nothing (a counting global allocator, so this is a test binary of its
//! own). The captures are those of `vectors_update.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bgp_proto::wire::update::Update;
use bgp_proto::SessionContext;
use bytes::Bytes;

fn load(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let hex: String = text.lines().filter(|l| !l.starts_with('#')).collect();
    hex::decode(hex.trim()).unwrap()
}

fn ctx4() -> SessionContext {
    SessionContext {
        four_octet_as: true,
        ..Default::default()
    }
}

struct CountingAlloc;

thread_local! {
    static ALLOCS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; the
// counter is a const-initialised thread-local `Cell`, which never allocates.
unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: same contract as ours.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn allocations<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCS.with(|c| c.get());
    let r = f();
    (r, ALLOCS.with(|c| c.get()) - before)
}

#[test]
fn decoding_and_iterating_do_not_allocate() {
    let ctx = ctx4();
    for file in [
        "update_gobgp_01.hex",
        "update_gobgp_04.hex",
        "update_bird_02.hex",
        "update_bird_04.hex",
    ] {
        let body = Bytes::from(load(file)).slice(19..);
        let (u, n) = allocations(|| Update::decode(body.clone(), &ctx).unwrap());
        assert_eq!(n, 0, "{file}: decode allocated");
        let (count, n) = allocations(|| {
            let mut k = u.withdrawn().count() + u.nlri().count();
            k += u.raw_attributes().map(|a| a.value.len()).sum::<usize>();
            if let Some(mp) = u.mp_reach() {
                k += mp.nlri().count();
                k += usize::from(mp.next_hop().link_local.is_some());
            }
            k += usize::from(u.end_of_rib().is_some()) + u.announcements().count();
            k
        });
        assert!(count > 0);
        assert_eq!(n, 0, "{file}: iterating allocated");
        // The owned attribute set does allocate (AS_PATH, communities).
        let (_, n) = allocations(|| u.attributes());
        assert!(n > 0);
    }
}
