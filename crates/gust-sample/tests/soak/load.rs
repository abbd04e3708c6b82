//! What every client of the soak shares: the phase of the run, the tally of outcomes, the
//! request mix with the answer each request must get, and deterministic payloads.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

/// Where the run is. Failures mean different things before and after the stop signal.
#[derive(Default)]
pub(crate) struct Phase {
    /// Set just before SIGTERM is sent: from then on the server may refuse new work.
    terminating: AtomicBool,
    /// Set once the server has exited (or the run is over): clients stop.
    done: AtomicBool,
}

impl Phase {
    pub(crate) fn terminating(&self) -> bool {
        self.terminating.load(Ordering::SeqCst)
    }

    pub(crate) fn set_terminating(&self) {
        self.terminating.store(true, Ordering::SeqCst);
    }

    pub(crate) fn done(&self) -> bool {
        self.done.load(Ordering::SeqCst)
    }

    pub(crate) fn set_done(&self) {
        self.done.store(true, Ordering::SeqCst);
    }
}

/// Why a request did not get its answer.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The server never took the request: the connection was refused, or closed before any
    /// byte of the answer came, or an HTTP/2 GOAWAY left the stream out. Allowed only after
    /// the stop signal.
    NotTaken(String),
    /// The server took the request and the answer was cut short, wrong or late: a loss.
    Broken(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::NotTaken(why) => write!(f, "not taken: {why}"),
            Failure::Broken(why) => write!(f, "broken: {why}"),
        }
    }
}

/// The outcomes of one kind of client.
pub(crate) struct Tally {
    pub(crate) name: &'static str,
    ok: AtomicU64,
    bytes: AtomicU64,
    /// Any failure before the stop signal.
    errors: AtomicU64,
    /// Requests the server did not take after the stop signal (allowed).
    not_taken: AtomicU64,
    /// Requests taken and not answered whole after the stop signal (must stay 0).
    lost: AtomicU64,
    /// The first few failures, for the report.
    examples: Mutex<Vec<String>>,
}

/// How many failure descriptions a tally keeps.
const EXAMPLES: usize = 8;

impl Tally {
    pub(crate) fn new(name: &'static str) -> Arc<Tally> {
        Arc::new(Tally {
            name,
            ok: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            not_taken: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            examples: Mutex::new(Vec::new()),
        })
    }

    /// A whole, correct answer of `bytes` body bytes (both directions counted by the caller).
    pub(crate) fn ok(&self, bytes: usize) {
        self.ok.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn fail(&self, phase: &Phase, failure: Failure) {
        let (counter, notable) = match (&failure, phase.terminating()) {
            (_, false) => (&self.errors, true),
            (Failure::NotTaken(_), true) => (&self.not_taken, false),
            (Failure::Broken(_), true) => (&self.lost, true),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if notable {
            let mut examples = self.examples.lock().unwrap_or_else(|e| e.into_inner());
            if examples.len() < EXAMPLES {
                let when = if phase.terminating() {
                    "after stop"
                } else {
                    "steady"
                };
                examples.push(format!("{} ({when}): {failure}", self.name));
            }
        }
    }

    pub(crate) fn snapshot(&self) -> TallySnapshot {
        TallySnapshot {
            name: self.name,
            ok: self.ok.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            not_taken: self.not_taken.load(Ordering::Relaxed),
            lost: self.lost.load(Ordering::Relaxed),
            examples: self
                .examples
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}

/// A tally read at one moment.
#[derive(Debug, Clone)]
pub(crate) struct TallySnapshot {
    pub(crate) name: &'static str,
    pub(crate) ok: u64,
    pub(crate) bytes: u64,
    pub(crate) errors: u64,
    pub(crate) not_taken: u64,
    pub(crate) lost: u64,
    pub(crate) examples: Vec<String>,
}

/// A small deterministic generator (xorshift64*): the same seed gives the same run.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `low..=high`.
    pub(crate) fn between(&mut self, low: usize, high: usize) -> usize {
        low + (self.next() % (high - low + 1) as u64) as usize
    }
}

/// `len` bytes that differ with `seed` and along their length, so a lost, repeated or
/// misplaced chunk cannot go unnoticed.
pub(crate) fn payload(seed: u64, len: usize) -> Bytes {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next().to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

/// The files the server serves from `--www`, and the dashboard page as first fetched.
pub(crate) struct Content {
    pub(crate) small: Bytes,
    pub(crate) big: Bytes,
    /// `GET /` as the first request of the run got it (identity encoding).
    pub(crate) page: Bytes,
}

/// One request of the mix and the answer it must get.
pub(crate) struct Exchange {
    pub(crate) method: &'static str,
    pub(crate) target: String,
    pub(crate) body: Option<Bytes>,
    pub(crate) expect: Expect,
}

/// What the body of a 200 answer must be.
pub(crate) enum Expect {
    Exactly(Bytes),
    /// `/uptime`: a number.
    Number,
}

impl Exchange {
    /// Checks a status and body against the expectation.
    pub(crate) fn check(&self, status: u16, body: &[u8]) -> Result<(), Failure> {
        if status != 200 {
            return Err(Failure::Broken(format!(
                "{} {}: status {status}",
                self.method, self.target
            )));
        }
        let right = match &self.expect {
            Expect::Exactly(expected) => body == &expected[..],
            Expect::Number => {
                !body.is_empty()
                    && std::str::from_utf8(body)
                        .map(|s| s.trim().parse::<u64>().is_ok())
                        .unwrap_or(false)
            }
        };
        if right {
            Ok(())
        } else {
            Err(Failure::Broken(format!(
                "{} {}: wrong body ({} bytes)",
                self.method,
                self.target,
                body.len()
            )))
        }
    }

    /// A request of the everyday mix: pages, files, the dynamic resources, echoes.
    pub(crate) fn everyday(rng: &mut Rng, content: &Content) -> Exchange {
        let get = |target: &str, expect| Exchange {
            method: "GET",
            target: target.to_owned(),
            body: None,
            expect,
        };
        match rng.between(0, 99) {
            0..=24 => get("/", Expect::Exactly(content.page.clone())),
            25..=39 => get("/uptime", Expect::Number),
            40..=54 => {
                let query = format!("n={}", rng.next());
                let target = format!("/dynamic?{query}");
                get(&target, Expect::Exactly(Bytes::from(query)))
            }
            55..=74 => get("/small.txt", Expect::Exactly(content.small.clone())),
            75..=79 => get("/big.bin", Expect::Exactly(content.big.clone())),
            _ => {
                let len = rng.between(1, 256 * 1024);
                Exchange::upload(rng, len)
            }
        }
    }

    /// `POST /dynamic` of `len` bytes, echoed back.
    pub(crate) fn upload(rng: &mut Rng, len: usize) -> Exchange {
        let body = payload(rng.next(), len);
        Exchange {
            method: "POST",
            target: "/dynamic".to_owned(),
            body: Some(body.clone()),
            expect: Expect::Exactly(body),
        }
    }
}
