#![no_main]
//! The config parser never panics or hangs, and what it accepts is consistent:
//! the stripped text holds only lines of the input, and planning does not panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wgq::fuzzing::check_config_bytes(data);
});
