#![no_main]
//! `h2_frame`: see `gust::fuzzing::h2_frame` for the input layout and what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| gust::fuzzing::h2_frame(data));
