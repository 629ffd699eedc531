//! Reads arbitrary octets as a netlink receive buffer with every parser of
//! kernel messages the FIB has: the monitor's notifications (links,
//! addresses, route and nexthop deletions), route dump replies and
//! nexthop objects. No input may panic or loop.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = std::hint::black_box(bgpd::fib::fuzz_netlink(data));
});
