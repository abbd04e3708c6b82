//! HTTP/2 (RFC 9113), sans-I/O: the frame codec and HPACK, with the connection machine to
//! come on top of them.
//!
//! Until the connection machine uses them, parts of these modules have no caller outside
//! their tests.
#![allow(dead_code)]

pub(crate) mod conn;
pub(crate) mod flow;
pub(crate) mod frame;
pub(crate) mod hpack;
pub(crate) mod request;
pub(crate) mod state;
pub(crate) mod upgrade;
