//! HTTP/2 (RFC 9113), sans-I/O: the frame codec, HPACK, flow-control windows, stream
//! states, request validation, and the connection machine on top of them.

pub(crate) mod conn;
pub(crate) mod flow;
pub(crate) mod frame;
pub(crate) mod hpack;
pub(crate) mod request;
pub(crate) mod state;
pub(crate) mod upgrade;
