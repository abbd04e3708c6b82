#![no_main]
//! `router_path`: see `gust::fuzzing::router_path` for the input layout and what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| gust::fuzzing::router_path(data));
