#![no_main]
//! `ws_session`: see `gust::fuzzing::ws_session` for the input layout and what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| gust::fuzzing::ws_session(data));
