#![no_main]
//! `ws_frame`: see `gust::fuzzing::ws_frame` for the input layout and what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| gust::fuzzing::ws_frame(data));
