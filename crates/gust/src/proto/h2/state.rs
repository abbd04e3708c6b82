//! Stream states (RFC 9113 section 5.1) as a server that never pushes sees them.
//!
//! ```text
//!                  +--------+
//!          recv H  |        |  recv H + ES
//!        ,---------|  idle  |------------.
//!       v          +--------+             v
//!  +--------+                      +----------+
//!  |        |   recv ES            |  half-   |
//!  |  open  |--------------------->|  closed  |
//!  |        |                      | (remote) |
//!  +--------+                      +----------+
//!       | send ES                       | send ES
//!       v                               v
//!  +----------+   recv ES          +--------+
//!  |  half-   |------------------->|        |
//!  |  closed  |                    | closed |
//!  | (local)  |   send R / recv R  |        |
//!  +----------+  (from any state)  +--------+
//! ```
//!
//! H: HEADERS, ES: END_STREAM, R: RST_STREAM. The reserved states exist only with server
//! push, which gust never uses (and a client cannot push: PUSH_PROMISE from it is a
//! connection error).
// The whole state machine of RFC 9113 5.1 is here and tested, idle included; the
// connection keeps idle streams out of its map, so some transitions have no caller there.
#![cfg_attr(not(test), allow(dead_code))]

/// Where one stream stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Not yet opened.
    Idle,
    /// Both sides may send.
    Open,
    /// We may still send; the client has finished.
    HalfClosedRemote,
    /// The client may still send; we have finished.
    HalfClosedLocal,
    /// Done, by END_STREAM both ways or by a reset.
    Closed(Closure),
}

/// How a stream was closed: it decides the error for a frame that arrives afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closure {
    /// END_STREAM in both directions.
    EndStream,
    /// We sent RST_STREAM: frames in flight may still arrive and are ignored (5.1).
    ResetByUs,
    /// The peer sent RST_STREAM: any later frame but PRIORITY is STREAM_CLOSED.
    ResetByPeer,
}

/// A frame the peer sent that its stream's state does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StateError {
    /// A connection error of type PROTOCOL_ERROR (5.1: e.g. DATA on an idle stream).
    Protocol,
    /// A stream error of type STREAM_CLOSED (5.1: a frame after END_STREAM).
    StreamClosed,
    /// A connection error of type STREAM_CLOSED (5.1: a frame on a stream closed by the
    /// peer's reset or long closed).
    ConnectionStreamClosed,
}

/// What a received frame does to the stream, or `Ignore` for a frame on a stream we reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Process it.
    Accept,
    /// Drop it silently (a frame in flight when we reset the stream).
    Ignore,
}

impl State {
    /// The client's HEADERS arrived, with or without END_STREAM. A second HEADERS on an
    /// open stream is trailers and must carry END_STREAM (8.1).
    pub(crate) fn recv_headers(&mut self, end_stream: bool) -> Result<Verdict, StateError> {
        match *self {
            State::Idle => {
                *self = if end_stream {
                    State::HalfClosedRemote
                } else {
                    State::Open
                };
                Ok(Verdict::Accept)
            }
            State::Open | State::HalfClosedLocal if !end_stream => Err(StateError::Protocol),
            State::Open => {
                *self = State::HalfClosedRemote;
                Ok(Verdict::Accept)
            }
            State::HalfClosedLocal => {
                *self = State::Closed(Closure::EndStream);
                Ok(Verdict::Accept)
            }
            State::HalfClosedRemote => Err(StateError::StreamClosed),
            State::Closed(closure) => Self::after_close(closure),
        }
    }

    /// DATA arrived.
    pub(crate) fn recv_data(&mut self, end_stream: bool) -> Result<Verdict, StateError> {
        match *self {
            State::Idle => Err(StateError::Protocol),
            State::Open => {
                if end_stream {
                    *self = State::HalfClosedRemote;
                }
                Ok(Verdict::Accept)
            }
            State::HalfClosedLocal => {
                if end_stream {
                    *self = State::Closed(Closure::EndStream);
                }
                Ok(Verdict::Accept)
            }
            State::HalfClosedRemote => Err(StateError::StreamClosed),
            State::Closed(closure) => Self::after_close(closure),
        }
    }

    /// RST_STREAM arrived. On an idle stream it is a connection error (6.4).
    pub(crate) fn recv_reset(&mut self) -> Result<Verdict, StateError> {
        match *self {
            State::Idle => Err(StateError::Protocol),
            State::Closed(Closure::ResetByUs | Closure::ResetByPeer) => Ok(Verdict::Ignore),
            _ => {
                *self = State::Closed(Closure::ResetByPeer);
                Ok(Verdict::Accept)
            }
        }
    }

    /// WINDOW_UPDATE arrived: allowed in every state but idle; after close it is ignored
    /// for a short while (5.1), which is what a closed stream here does.
    pub(crate) fn recv_window_update(&self) -> Result<Verdict, StateError> {
        match *self {
            State::Idle => Err(StateError::Protocol),
            State::Closed(_) => Ok(Verdict::Ignore),
            _ => Ok(Verdict::Accept),
        }
    }

    /// We sent END_STREAM (the end of the response).
    pub(crate) fn send_end_stream(&mut self) {
        *self = match *self {
            State::Open => State::HalfClosedLocal,
            State::HalfClosedRemote => State::Closed(Closure::EndStream),
            other => other,
        };
    }

    /// We sent RST_STREAM.
    pub(crate) fn send_reset(&mut self) {
        if !matches!(self, State::Closed(_)) {
            *self = State::Closed(Closure::ResetByUs);
        }
    }

    /// Whether the stream counts against SETTINGS_MAX_CONCURRENT_STREAMS (5.1.2).
    pub(crate) fn is_active(&self) -> bool {
        matches!(
            self,
            State::Open | State::HalfClosedLocal | State::HalfClosedRemote
        )
    }

    /// Whether we may still send on the stream.
    pub(crate) fn can_send(&self) -> bool {
        matches!(self, State::Open | State::HalfClosedRemote)
    }

    fn after_close(closure: Closure) -> Result<Verdict, StateError> {
        match closure {
            Closure::ResetByUs => Ok(Verdict::Ignore),
            Closure::ResetByPeer => Err(StateError::ConnectionStreamClosed),
            Closure::EndStream => Err(StateError::StreamClosed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_get_with_end_stream_then_our_response() {
        let mut s = State::Idle;
        assert_eq!(s.recv_headers(true), Ok(Verdict::Accept));
        assert_eq!(s, State::HalfClosedRemote);
        assert!(s.is_active() && s.can_send());
        s.send_end_stream();
        assert_eq!(s, State::Closed(Closure::EndStream));
        assert!(!s.is_active());
    }

    #[test]
    fn a_post_with_data_and_trailers() {
        let mut s = State::Idle;
        s.recv_headers(false).unwrap();
        assert_eq!(s, State::Open);
        s.recv_data(false).unwrap();
        assert_eq!(
            s.recv_headers(false),
            Err(StateError::Protocol),
            "trailers need END_STREAM"
        );
        s.recv_headers(true).unwrap();
        assert_eq!(s, State::HalfClosedRemote);
        assert_eq!(s.recv_data(false), Err(StateError::StreamClosed));
    }

    #[test]
    fn we_may_answer_before_the_request_ends() {
        let mut s = State::Idle;
        s.recv_headers(false).unwrap();
        s.send_end_stream();
        assert_eq!(s, State::HalfClosedLocal);
        assert!(!s.can_send());
        s.recv_data(true).unwrap();
        assert_eq!(s, State::Closed(Closure::EndStream));
    }

    #[test]
    fn frames_on_idle_streams_are_connection_errors() {
        assert_eq!(State::Idle.recv_data(false), Err(StateError::Protocol));
        assert_eq!(State::Idle.recv_reset(), Err(StateError::Protocol));
        assert_eq!(State::Idle.recv_window_update(), Err(StateError::Protocol));
    }

    #[test]
    fn after_resets() {
        let mut ours = State::Open;
        ours.send_reset();
        assert_eq!(
            ours.recv_data(false),
            Ok(Verdict::Ignore),
            "in flight when we reset"
        );
        let mut theirs = State::Open;
        theirs.recv_reset().unwrap();
        assert_eq!(
            theirs.recv_data(false),
            Err(StateError::ConnectionStreamClosed)
        );
        assert_eq!(theirs.recv_reset(), Ok(Verdict::Ignore));
        assert_eq!(theirs.recv_window_update(), Ok(Verdict::Ignore));
    }
}
