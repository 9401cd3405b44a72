#![no_main]
//! A backup restored by `wgq web` (`PUT /api/wireguard/restore`): reading it never panics,
//! and an accepted one restored into a server file makes a valid file with its clients.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wgq::fuzzing::check_backup(data);
});
