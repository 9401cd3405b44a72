#![no_main]
//! The block editor with any file and overlapping or repeated selections: distinct blocks
//! always apply, overlapping edits are an error, nothing panics.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wgq::fuzzing::check_editor(data);
});
