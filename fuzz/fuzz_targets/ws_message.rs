#![no_main]
//! `ws_message`: see `gust::fuzzing::ws_message` for the input layout and what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| gust::fuzzing::ws_message(data));
