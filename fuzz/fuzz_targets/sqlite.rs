#![no_main]
//! The read-only SQLite reader (a database and its write-ahead log) and wg-easy 15's
//! database reader never panic or loop on any bytes; rows have one value per column.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wgq::fuzzing::check_sqlite(data);
});
