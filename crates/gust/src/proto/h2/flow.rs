//! Flow-control windows (RFC 9113 section 5.2 and 6.9).
//!
//! A window is a signed count: a change of SETTINGS_INITIAL_WINDOW_SIZE can make a send
//! window negative (6.9.2), and a peer that sends more than it was allowed drives a receive
//! window below zero, which is a FLOW_CONTROL_ERROR. Every increase is checked against
//! 2^31-1: passing it is the peer's error (6.9.1).

/// The largest window RFC 9113 allows: 2^31-1.
pub(crate) const MAX_WINDOW: i64 = (1 << 31) - 1;

/// Why a window operation failed; each is a FLOW_CONTROL_ERROR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlowError {
    /// An increase took the window past 2^31-1.
    Overflow,
    /// The peer sent more than its window allowed.
    Exceeded,
}

/// One window, for sending (the peer's credit to us) or receiving (our credit to the peer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window(i64);

impl Window {
    /// A window of `size` bytes.
    pub(crate) fn new(size: u32) -> Self {
        Window(i64::from(size))
    }

    /// The bytes that may be sent now; zero when the window is exhausted or negative.
    pub(crate) fn available(&self) -> u32 {
        u32::try_from(self.0.clamp(0, MAX_WINDOW)).unwrap_or(0)
    }

    /// The raw signed value.
    #[cfg(test)]
    pub(crate) fn value(&self) -> i64 {
        self.0
    }

    /// A WINDOW_UPDATE (or our own replenishment) of `increment` bytes.
    pub(crate) fn increase(&mut self, increment: u32) -> Result<(), FlowError> {
        let next = self.0 + i64::from(increment);
        if next > MAX_WINDOW {
            return Err(FlowError::Overflow);
        }
        self.0 = next;
        Ok(())
    }

    /// Sending `len` bytes; the caller sends at most `available()`.
    pub(crate) fn consume_send(&mut self, len: u32) {
        self.0 -= i64::from(len);
    }

    /// Receiving `len` flow-controlled bytes (padding included): more than the window is
    /// the peer's error.
    pub(crate) fn consume_recv(&mut self, len: u32) -> Result<(), FlowError> {
        let next = self.0 - i64::from(len);
        if next < 0 {
            return Err(FlowError::Exceeded);
        }
        self.0 = next;
        Ok(())
    }

    /// Applies a change of SETTINGS_INITIAL_WINDOW_SIZE from `old` to `new` to a stream's
    /// send window: the difference is added, which may leave it negative (6.9.2), but
    /// never above 2^31-1.
    pub(crate) fn apply_initial_change(&mut self, old: u32, new: u32) -> Result<(), FlowError> {
        let next = self.0 + i64::from(new) - i64::from(old);
        if next > MAX_WINDOW {
            return Err(FlowError::Overflow);
        }
        self.0 = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn increase_up_to_the_maximum_and_not_past_it() {
        let mut w = Window::new(65_535);
        w.increase((MAX_WINDOW - 65_535) as u32).unwrap();
        assert_eq!(w.value(), MAX_WINDOW);
        assert_eq!(w.increase(1), Err(FlowError::Overflow));
        assert_eq!(w.value(), MAX_WINDOW, "a failed increase changes nothing");
    }

    #[test]
    fn receiving_past_the_window_is_the_peers_error() {
        let mut w = Window::new(10);
        w.consume_recv(10).unwrap();
        assert_eq!(w.consume_recv(1), Err(FlowError::Exceeded));
    }

    #[test]
    fn a_smaller_initial_window_can_make_a_send_window_negative() {
        let mut w = Window::new(65_535);
        w.consume_send(60_000);
        w.apply_initial_change(65_535, 1_000).unwrap();
        assert_eq!(w.value(), 5_535 - 64_535);
        assert_eq!(w.available(), 0);
        w.increase(60_000).unwrap();
        assert_eq!(w.available(), 1_000);
        let mut full = Window::new(MAX_WINDOW as u32);
        assert_eq!(full.apply_initial_change(0, 1), Err(FlowError::Overflow));
    }
}
