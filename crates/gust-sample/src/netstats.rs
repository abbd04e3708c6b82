//! The network statistics the dashboard's WebSocket on `/` sends: one JSON text message per
//! [`INTERVAL`], built by [`snapshot_json`].
//!
//! The original sample sends eight counters of its device's network stack. gust keeps the
//! keys and fills them with what this server and this host can tell:
//!
//! - `bytes_recv`, `bytes_sent`: bytes on this server's TCP connections, TLS records
//!   included ([`gust::StatsSnapshot`]'s `bytes_received`/`bytes_sent`): everything the
//!   server's sockets moved, as the original's IP-layer figure is everything its stack moved.
//! - `tcp_bytes_recv`, `tcp_bytes_sent`: the HTTP and WebSocket bytes those connections
//!   carried, after TLS decryption and before encryption (`plaintext_bytes_*`): the payload,
//!   as the original's TCP figure is its sockets' payload. On plain HTTP both pairs agree.
//! - `ipv4_pkt_recv`, `ipv4_pkt_sent`: IPv4 packets of the whole host (`Ip: InReceives`/
//!   `OutRequests` in `/proc/net/snmp`).
//! - `ipv6_pkt_recv`, `ipv6_pkt_sent`: IPv6 packets of the whole host (`Ip6InReceives`/
//!   `Ip6OutRequests` in `/proc/net/snmp6`).
//! - `connections_accepted`, `connections_open`: this server's TCP connections.
//! - `requests`: `{"http/1.1": n, "h2": n, "websocket": n}`, requests by protocol.
//!   `http/1.1` counts HTTP/1.0 too; `websocket` counts sessions started, whose opening
//!   requests are also counted under their own protocol.
//! - `websockets_open`: WebSocket sessions open now.
//! - `tls_handshakes`: TLS handshakes completed.
//! - `uptime_ms`: milliseconds since the sample started.
//!
//! A kernel file that cannot be read (not Linux, a sandbox without procfs) or a field it does
//! not have gives 0, as the original gives 0 for a statistics group that is compiled out.
//! The kernel's figures belong to the network namespace the sample runs in.

use std::path::Path;
use std::time::{Duration, Instant};

use gust::StatsSnapshot;
use serde::Serialize;

/// Where Linux publishes the network stack's counters.
pub(crate) const PROC_NET: &str = "/proc/net";

/// The host's network counters, as the kernel keeps them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct KernelCounters {
    /// IPv4 packets received, including those then discarded (`Ip: InReceives`).
    pub(crate) ipv4_packets_received: u64,
    /// IPv4 packets handed to the IP layer to send (`Ip: OutRequests`).
    pub(crate) ipv4_packets_sent: u64,
    /// IPv6 packets received (`Ip6InReceives`).
    pub(crate) ipv6_packets_received: u64,
    /// IPv6 packets handed to the IP layer to send (`Ip6OutRequests`).
    pub(crate) ipv6_packets_sent: u64,
}

impl KernelCounters {
    /// Reads the counters from [`PROC_NET`].
    ///
    /// Blocking file reads, but procfs files are made in memory on each read and never wait
    /// for a disk, so an async task may call this once per message.
    pub(crate) fn read() -> Self {
        Self::read_from(Path::new(PROC_NET))
    }

    /// Reads the counters from the files `snmp` and `snmp6` in `dir` (the layout of
    /// `/proc/net`). A missing or unreadable file gives 0 for the figures it holds.
    pub(crate) fn read_from(dir: &Path) -> Self {
        // Not an error worth a log line: every message would repeat it.
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        Self::parse(&read("snmp"), &read("snmp6"))
    }

    /// The counters from the text of `/proc/net/snmp` and `/proc/net/snmp6`.
    pub(crate) fn parse(snmp: &str, snmp6: &str) -> Self {
        KernelCounters {
            ipv4_packets_received: table_value(snmp, "Ip", "InReceives"),
            ipv4_packets_sent: table_value(snmp, "Ip", "OutRequests"),
            ipv6_packets_received: list_value(snmp6, "Ip6InReceives"),
            ipv6_packets_sent: list_value(snmp6, "Ip6OutRequests"),
        }
    }
}

/// One value from a file laid out as `/proc/net/snmp` is: per
/// section, a line of field names and then a line of values, both starting `Section:`, paired
/// by position. 0 when the section, the field or a number is missing.
fn table_value(text: &str, section: &str, field: &str) -> u64 {
    let mut lines = text.lines().filter_map(|line| {
        let (name, rest) = line.split_once(':')?;
        (name.trim() == section).then_some(rest)
    });
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(name, _)| *name == field)
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0)
}

/// One value from a file laid out as `/proc/net/snmp6` is: one `Name value` pair per line,
/// separated by blanks. 0 when the name or a number is missing.
fn list_value(text: &str, field: &str) -> u64 {
    text.lines()
        .find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some(field)).then(|| words.next())
        })
        .flatten()
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

/// One statistics message; the field order is the order on the wire, the original's keys
/// first.
#[derive(Debug, Serialize)]
struct Message {
    bytes_recv: u64,
    bytes_sent: u64,
    ipv6_pkt_recv: u64,
    ipv6_pkt_sent: u64,
    ipv4_pkt_recv: u64,
    ipv4_pkt_sent: u64,
    tcp_bytes_recv: u64,
    tcp_bytes_sent: u64,
    connections_accepted: u64,
    connections_open: u64,
    requests: Requests,
    websockets_open: u64,
    tls_handshakes: u64,
    uptime_ms: u64,
}

/// Requests by protocol; the keys are the ALPN names, as a reader of HTTP would expect.
#[derive(Debug, Serialize)]
struct Requests {
    #[serde(rename = "http/1.1")]
    http1: u64,
    h2: u64,
    websocket: u64,
}

/// The message to send now: gust's `stats`, the kernel's counters read from `/proc/net`, and
/// the time since `started`.
pub(crate) fn snapshot_json(stats: &StatsSnapshot, started: Instant) -> String {
    message_json(stats, &KernelCounters::read(), started.elapsed())
}

/// The message for figures already gathered (the pure part of [`snapshot_json`]).
pub(crate) fn message_json(
    stats: &StatsSnapshot,
    kernel: &KernelCounters,
    uptime: Duration,
) -> String {
    let message = Message {
        bytes_recv: stats.bytes_received,
        bytes_sent: stats.bytes_sent,
        ipv6_pkt_recv: kernel.ipv6_packets_received,
        ipv6_pkt_sent: kernel.ipv6_packets_sent,
        ipv4_pkt_recv: kernel.ipv4_packets_received,
        ipv4_pkt_sent: kernel.ipv4_packets_sent,
        tcp_bytes_recv: stats.plaintext_bytes_received,
        tcp_bytes_sent: stats.plaintext_bytes_sent,
        connections_accepted: stats.connections_accepted,
        connections_open: stats.connections_open,
        requests: Requests {
            http1: stats.requests_http1,
            h2: stats.requests_h2,
            websocket: stats.websockets_accepted,
        },
        websockets_open: stats.websockets_open,
        tls_handshakes: stats.tls_handshakes,
        // 2^64 milliseconds is 584 million years; saturating only avoids a cast.
        uptime_ms: u64::try_from(uptime.as_millis()).unwrap_or(u64::MAX),
    };
    // A struct of integers with string keys always serialises; the fallback is still valid
    // JSON, which the page skips.
    serde_json::to_string(&message).unwrap_or_else(|_| String::from("{}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This format, copied from a Linux 6.x host (the `OutTransmits` column is new in 6.3;
    /// older kernels end at `FragCreates`).
    const SNMP: &str = "\
Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates OutTransmits
Ip: 2 64 9621545 0 0 0 0 0 9621545 9250752 0 0 0 0 0 0 0 0 0 9250752
Icmp: InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs InSrcQuenchs InRedirects InEchos InEchoReps InTimestamps InTimestampReps InAddrMasks InAddrMaskReps OutMsgs OutErrors OutRateLimitGlobal OutRateLimitHost OutDestUnreachs OutTimeExcds OutParmProbs OutSrcQuenchs OutRedirects OutEchos OutEchoReps OutTimestamps OutTimestampReps OutAddrMasks OutAddrMaskReps
Icmp: 3 0 0 3 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
IcmpMsg: InType3
IcmpMsg: 3
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors
Tcp: 1 200 120000 -1 108831 41415 67352 5496 0 9621185 9616381 812 0 72327 0
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 367 0 0 370 0 0 0 0 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
UdpLite: 0 0 0 0 0 0 0 0 0
";

    /// The start of `/proc/net/snmp6` from the same host: the name, blanks and a tab, the value.
    const SNMP6: &str = "\
Ip6InReceives                   \t13
Ip6InHdrErrors                  \t0
Ip6InTooBigErrors               \t0
Ip6InNoRoutes                   \t0
Ip6InAddrErrors                 \t0
Ip6InUnknownProtos              \t0
Ip6InTruncatedPkts              \t0
Ip6InDiscards                   \t0
Ip6InDelivers                   \t13
Ip6OutForwDatagrams             \t0
Ip6OutRequests                  \t27
Ip6OutDiscards                  \t0
Ip6OutNoRoutes                  \t0
Ip6InMcastPkts                  \t0
Ip6OutMcastPkts                 \t11
Ip6InOctets                     \t1468
Ip6OutOctets                    \t2596
Ip6InMcastOctets                \t0
Ip6OutMcastOctets               \t888
Icmp6InMsgs                     \t0
";

    fn host() -> KernelCounters {
        KernelCounters {
            ipv4_packets_received: 9_621_545,
            ipv4_packets_sent: 9_250_752,
            ipv6_packets_received: 13,
            ipv6_packets_sent: 27,
        }
    }

    #[test]
    fn parses_the_kernels_files() {
        assert_eq!(KernelCounters::parse(SNMP, SNMP6), host());
    }

    #[test]
    fn snmp_pairs_names_and_values_by_position() {
        // Another kernel might order or add columns differently: the names decide.
        let snmp = "Ip: OutRequests Extra InReceives\nIp: 5 6 7\n";
        assert_eq!(table_value(snmp, "Ip", "InReceives"), 7);
        assert_eq!(table_value(snmp, "Ip", "OutRequests"), 5);
        // The Icmp section has an `InMsgs` field; asking the Ip section for it finds nothing.
        assert_eq!(table_value(SNMP, "Ip", "InMsgs"), 0);
        // "IpExt" is not "Ip", nor the reverse.
        let netstat = "IpExt: InOctets\nIpExt: 9\n";
        assert_eq!(table_value(netstat, "Ip", "InOctets"), 0);
        assert_eq!(table_value(SNMP, "IpExt", "InOctets"), 0);
    }

    #[test]
    fn anything_missing_or_malformed_reads_zero() {
        assert_eq!(KernelCounters::parse("", ""), KernelCounters::default());
        // A header without its value line, a value line cut short, a value that is no
        // number, a negative value.
        assert_eq!(
            table_value("Ip: InReceives OutRequests\n", "Ip", "InReceives"),
            0
        );
        let short = "Ip: Forwarding InReceives OutRequests\nIp: 1 2\n";
        assert_eq!(table_value(short, "Ip", "InReceives"), 2);
        assert_eq!(table_value(short, "Ip", "OutRequests"), 0);
        assert_eq!(
            table_value("Ip: InReceives\nIp: many\n", "Ip", "InReceives"),
            0
        );
        assert_eq!(table_value(SNMP, "Tcp", "MaxConn"), 0);
        assert_eq!(list_value("Ip6InReceives\n", "Ip6InReceives"), 0);
        assert_eq!(list_value("Ip6InReceives x\n", "Ip6InReceives"), 0);
        // A name that only starts like the one asked for is another name.
        assert_eq!(list_value("Ip6InReceivesExtra 9\n", "Ip6InReceives"), 0);
        // Binary junk and stray colons do not panic.
        let junk = "\u{0}:\u{ffff}\n:\nIp\nIp:\nIp:";
        assert_eq!(KernelCounters::parse(junk, junk), KernelCounters::default());
    }

    #[test]
    fn reads_the_files_of_a_directory_and_zero_for_those_missing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("snmp"), SNMP).unwrap();
        std::fs::write(dir.path().join("snmp6"), SNMP6).unwrap();
        assert_eq!(KernelCounters::read_from(dir.path()), host());

        std::fs::remove_file(dir.path().join("snmp6")).unwrap();
        let without_ipv6 = KernelCounters {
            ipv6_packets_received: 0,
            ipv6_packets_sent: 0,
            ..host()
        };
        assert_eq!(KernelCounters::read_from(dir.path()), without_ipv6);

        let nowhere = dir.path().join("no such directory");
        assert_eq!(
            KernelCounters::read_from(&nowhere),
            KernelCounters::default()
        );
    }

    #[test]
    fn the_message_has_the_originals_keys_first_and_gusts_after() {
        let stats = StatsSnapshot {
            connections_accepted: 12,
            connections_open: 3,
            requests_http1: 40,
            requests_h2: 7,
            websockets_accepted: 2,
            websockets_open: 1,
            tls_handshakes: 5,
            bytes_received: 4200,
            bytes_sent: 66000,
            plaintext_bytes_received: 4096,
            plaintext_bytes_sent: 65536,
        };
        let json = message_json(&stats, &host(), Duration::from_micros(1_234_567));
        assert_eq!(
            json,
            concat!(
                r#"{"bytes_recv":4200,"bytes_sent":66000,"#,
                r#""ipv6_pkt_recv":13,"ipv6_pkt_sent":27,"#,
                r#""ipv4_pkt_recv":9621545,"ipv4_pkt_sent":9250752,"#,
                r#""tcp_bytes_recv":4096,"tcp_bytes_sent":65536,"#,
                r#""connections_accepted":12,"connections_open":3,"#,
                r#""requests":{"http/1.1":40,"h2":7,"websocket":2},"#,
                r#""websockets_open":1,"tls_handshakes":5,"uptime_ms":1234}"#,
            )
        );
    }

    #[test]
    fn a_live_snapshot_is_one_json_object_with_every_key() {
        // Whatever this machine's /proc holds (or lacks), the message is complete.
        let started = Instant::now();
        let json = snapshot_json(&StatsSnapshot::default(), started);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let object = value.as_object().unwrap();
        for key in [
            "bytes_recv",
            "bytes_sent",
            "ipv6_pkt_recv",
            "ipv6_pkt_sent",
            "ipv4_pkt_recv",
            "ipv4_pkt_sent",
            "tcp_bytes_recv",
            "tcp_bytes_sent",
            "connections_accepted",
            "connections_open",
            "websockets_open",
            "tls_handshakes",
            "uptime_ms",
        ] {
            assert!(
                object.get(key).is_some_and(|v| v.is_u64()),
                "{key} in {json}"
            );
        }
        let requests = object.get("requests").and_then(|r| r.as_object()).unwrap();
        assert_eq!(requests.len(), 3, "{json}");
    }
}
