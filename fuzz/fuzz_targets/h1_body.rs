#![no_main]
//! `h1_body`: see `gust::fuzzing::h1_body` for the input layout and what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| gust::fuzzing::h1_body(data));
