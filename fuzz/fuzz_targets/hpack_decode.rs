#![no_main]
//! `hpack_decode`: see `gust::fuzzing::hpack_decode` for the input layout and what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| gust::fuzzing::hpack_decode(data));
