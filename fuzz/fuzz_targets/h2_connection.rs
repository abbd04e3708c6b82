#![no_main]
//! `h2_connection`: see `gust::fuzzing::h2_connection` for the input layout and what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| gust::fuzzing::h2_connection(data));
