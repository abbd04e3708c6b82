//! TLS for a service: credentials, the store they are registered in under a tag, and the
//! options a service names them with.
//!
//! A [`CredentialStore`] maps tags to certificate chains with their private keys, and to CA
//! certificates for verifying clients. A TLS service names its tag ([`TlsOptions`]); every
//! handshake looks the tag up, so registering new credentials under the same tag replaces
//! the certificate for new handshakes while the connections already open keep theirs.
//!
//! ALPN offers `h2` and `http/1.1`; a client that offers neither (or no ALPN) is served
//! HTTP/1.1. TLS 1.3 and 1.2 are enabled, with rustls's safe defaults (ring backend).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};

/// The default for [`TlsOptions::handshake_timeout`].
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why credentials could not be loaded or used. The message names the file (when there is
/// one) and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError {
    file: Option<PathBuf>,
    problem: String,
}

impl TlsError {
    fn new(problem: impl Into<String>) -> Self {
        TlsError {
            file: None,
            problem: problem.into(),
        }
    }

    fn in_file(mut self, file: &Path) -> Self {
        self.file = Some(file.to_owned());
        self
    }

    /// The file the problem is in, if it came from a file.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{}: {}", file.display(), self.problem),
            None => f.write_str(&self.problem),
        }
    }
}

impl std::error::Error for TlsError {}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Whether `bytes` look like PEM (text starting, after blank space, with `-----BEGIN`).
fn is_pem(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    bytes[start..].starts_with(b"-----BEGIN")
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::new(format!("cannot read: {e}")).in_file(path))
}

/// Certificates from PEM (every CERTIFICATE block, in order) or one DER certificate.
fn parse_certificates(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    if !is_pem(bytes) {
        if bytes.is_empty() {
            return Err(TlsError::new("empty: no certificate"));
        }
        return Ok(vec![CertificateDer::from(bytes.to_vec())]);
    }
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::new(format!("not a valid PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(TlsError::new("no CERTIFICATE block in this PEM file"));
    }
    Ok(certs)
}

/// A private key from PEM (PKCS#8, PKCS#1 or SEC1) or DER (PKCS#8).
fn parse_key(bytes: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    if !is_pem(bytes) {
        return PrivateKeyDer::try_from(bytes.to_vec())
            .map_err(|e| TlsError::new(format!("not a private key (neither PEM nor DER): {e}")));
    }
    PrivateKeyDer::from_pem_slice(bytes)
        .map_err(|e| TlsError::new(format!("no usable private key in this PEM file: {e}")))
}

/// A certificate chain (leaf first) with the private key of the leaf.
pub struct Credentials {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("certificates", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// From PEM text: the chain (leaf first, then intermediates) and the key.
    pub fn from_pem(chain: &[u8], key: &[u8]) -> Result<Self, TlsError> {
        Ok(Credentials {
            chain: parse_certificates(chain)?,
            key: parse_key(key)?,
        })
    }

    /// From DER: each certificate of the chain (leaf first) and the PKCS#8 key.
    pub fn from_der(chain: Vec<Vec<u8>>, key: Vec<u8>) -> Result<Self, TlsError> {
        if chain.is_empty() {
            return Err(TlsError::new("an empty certificate chain"));
        }
        Ok(Credentials {
            chain: chain.into_iter().map(CertificateDer::from).collect(),
            key: parse_key(&key)?,
        })
    }

    /// From two files, each PEM or DER (told apart by content). Errors name the file.
    pub fn load(chain: &Path, key: &Path) -> Result<Self, TlsError> {
        let chain_bytes = read(chain)?;
        let key_bytes = read(key)?;
        Ok(Credentials {
            chain: parse_certificates(&chain_bytes).map_err(|e| e.in_file(chain))?,
            key: parse_key(&key_bytes).map_err(|e| e.in_file(key))?,
        })
    }

    /// Checks the key against the leaf certificate and makes the signing key.
    fn certify(self) -> Result<CertifiedKey, TlsError> {
        CertifiedKey::from_der(self.chain, self.key, &provider()).map_err(|e| {
            TlsError::new(format!(
                "the private key does not fit the certificate or is not usable: {e}"
            ))
        })
    }
}

/// CA certificates from a PEM or DER file (a client-certificate trust anchor).
pub fn load_certificates(path: &Path) -> Result<Vec<Vec<u8>>, TlsError> {
    let bytes = read(path)?;
    let certs = parse_certificates(&bytes).map_err(|e| e.in_file(path))?;
    Ok(certs.into_iter().map(|c| c.to_vec()).collect())
}

#[derive(Default)]
struct Entries {
    servers: HashMap<String, Arc<CertifiedKey>>,
    cas: HashMap<String, Vec<CertificateDer<'static>>>,
}

/// Credentials registered under tags. Cheap to clone: clones share the entries, so a
/// credential registered again later (a renewed certificate) is used by every service that
/// names its tag, from the next handshake on.
#[derive(Clone, Default)]
pub struct CredentialStore {
    entries: Arc<RwLock<Entries>>,
}

impl fmt::Debug for CredentialStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.read();
        let mut tags: Vec<&String> = entries.servers.keys().chain(entries.cas.keys()).collect();
        tags.sort();
        f.debug_struct("CredentialStore")
            .field("tags", &tags)
            .finish()
    }
}

impl CredentialStore {
    /// An empty store.
    pub fn new() -> Self {
        CredentialStore::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.entries.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Entries> {
        self.entries.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers (or replaces) a server certificate chain and key under `tag`, after
    /// checking that the key belongs to the certificate.
    pub fn register(&self, tag: &str, credentials: Credentials) -> Result<(), TlsError> {
        let certified = Arc::new(credentials.certify()?);
        self.write().servers.insert(tag.to_owned(), certified);
        Ok(())
    }

    /// Registers (or replaces) CA certificates (DER) under `tag`, for verifying clients. A
    /// service reads its client CA when it is built: a replaced CA applies to services built
    /// afterwards, unlike server credentials, which are looked up at every handshake.
    pub fn register_ca(&self, tag: &str, certificates: Vec<Vec<u8>>) -> Result<(), TlsError> {
        if certificates.is_empty() {
            return Err(TlsError::new(format!("no CA certificate for tag {tag:?}")));
        }
        let certs = certificates.into_iter().map(CertificateDer::from).collect();
        self.write().cas.insert(tag.to_owned(), certs);
        Ok(())
    }

    /// Whether server credentials are registered under `tag`.
    pub fn contains(&self, tag: &str) -> bool {
        self.read().servers.contains_key(tag)
    }

    fn server(&self, tag: &str) -> Option<Arc<CertifiedKey>> {
        self.read().servers.get(tag).cloned()
    }

    fn ca(&self, tag: &str) -> Option<Vec<CertificateDer<'static>>> {
        self.read().cas.get(tag).cloned()
    }
}

/// Looks the service's tag up at each handshake, so a re-registered certificate is used by
/// new connections at once.
#[derive(Debug)]
struct StoreResolver {
    store: CredentialStore,
    tag: String,
}

impl ResolvesServerCert for StoreResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.store.server(&self.tag)
    }
}

/// How a service speaks TLS: which credentials, whether clients must show a certificate,
/// and how long a handshake may take.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    store: CredentialStore,
    tag: String,
    client_ca: Option<String>,
    handshake_timeout: Duration,
}

impl TlsOptions {
    /// TLS with the credentials registered in `store` under `tag`.
    pub fn new(store: &CredentialStore, tag: &str) -> Self {
        TlsOptions {
            store: store.clone(),
            tag: tag.to_owned(),
            client_ca: None,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// Requires every client to present a certificate issued by the CA registered under
    /// `ca_tag` (mutual TLS). Off by default.
    pub fn client_ca(mut self, ca_tag: &str) -> Self {
        self.client_ca = Some(ca_tag.to_owned());
        self
    }

    /// How long a client has to finish the handshake before the connection is dropped
    /// (default 10 s).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// The rustls configuration; fails if a tag names nothing.
    pub(crate) fn acceptor(&self) -> Result<TlsAcceptor, TlsError> {
        if !self.store.contains(&self.tag) {
            return Err(TlsError::new(format!(
                "no credentials registered under tag {:?}",
                self.tag
            )));
        }
        let provider = provider();
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::new(format!("TLS versions: {e}")))?;
        let builder = match &self.client_ca {
            None => builder.with_no_client_auth(),
            Some(ca_tag) => {
                let cas = self.store.ca(ca_tag).ok_or_else(|| {
                    TlsError::new(format!("no CA registered under tag {ca_tag:?}"))
                })?;
                let mut roots = RootCertStore::empty();
                for ca in cas {
                    roots
                        .add(ca)
                        .map_err(|e| TlsError::new(format!("CA {ca_tag:?}: {e}")))?;
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .map_err(|e| TlsError::new(format!("CA {ca_tag:?}: {e}")))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder.with_cert_resolver(Arc::new(StoreResolver {
            store: self.store.clone(),
            tag: self.tag.clone(),
        }));
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsAcceptor {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            handshake_timeout: self.handshake_timeout,
        })
    }
}

/// A service's ready-made TLS configuration.
#[derive(Clone)]
pub(crate) struct TlsAcceptor {
    pub(crate) acceptor: tokio_rustls::TlsAcceptor,
    pub(crate) handshake_timeout: Duration,
}

/// What a handler can learn of the TLS session its request came on (a request extension,
/// absent on plain connections).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsInfo {
    /// The server name the client asked for (SNI), if it sent one.
    pub server_name: Option<String>,
    /// The protocol chosen by ALPN (`h2` or `http/1.1`), if any.
    pub alpn: Option<String>,
    /// The client presented a certificate that was verified (mutual TLS).
    pub client_verified: bool,
}
