#![no_main]
//! Provisioning's value parsers (dates, durations, addresses, DNS lists, endpoints, keys,
//! names, notes) never panic, and what they accept renders to one safe line that parses back.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wgq::fuzzing::check_value_parsers(data);
});
