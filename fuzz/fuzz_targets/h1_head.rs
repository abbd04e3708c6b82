#![no_main]
//! `h1_head`: see `gust::fuzzing::h1_head` for the input layout and what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| gust::fuzzing::h1_head(data));
