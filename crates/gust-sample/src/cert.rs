//! Development certificates: a local certificate authority and server certificates it signs.
//!
//! `gust-sample cert ca` and `gust-sample cert server` run [`make_ca`] and [`make_server`];
//! a first HTTPS start without a certificate of its own runs [`ensure_dev_certs`]. Keys are
//! ECDSA P-256 in PKCS#8 PEM, created with mode 0600 and never loosened afterwards. Nothing
//! is overwritten unless asked (`force`), and every error names the file it is about.
//!
//! These certificates are for development only: the CA key sits unencrypted next to its
//! certificate, and whoever trusts `ca.pem` trusts anything signed with that key.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType, PKCS_ECDSA_P256_SHA256,
};
use time::{Duration, OffsetDateTime};

use crate::cli::CertCommand;
use crate::Failure;

/// The CA certificate, PEM (the file to trust in a browser or pass to `curl --cacert`).
pub(crate) const CA_CERT_PEM: &str = "ca.pem";
/// The CA certificate, DER (some trust stores import only this form).
pub(crate) const CA_CERT_DER: &str = "ca.der";
/// The CA's private key, PKCS#8 PEM, mode 0600.
pub(crate) const CA_KEY_PEM: &str = "ca-key.pem";
/// The server certificate followed by the CA certificate, PEM: the chain a server sends.
pub(crate) const SERVER_CHAIN_PEM: &str = "server.pem";
/// The server certificate alone, DER.
pub(crate) const SERVER_CERT_DER: &str = "server.der";
/// The server's private key, PKCS#8 PEM, mode 0600.
pub(crate) const SERVER_KEY_PEM: &str = "server-key.pem";

/// The subject common name of a development CA.
const CA_COMMON_NAME: &str = "gust development CA";
/// The organization of every certificate made here, so that they are easy to spot in a trust
/// store.
const ORGANIZATION: &str = "gust development";
/// How long a development CA is valid: about ten years.
const CA_VALIDITY: Duration = Duration::days(3650);
/// How long a server certificate is valid: one year, well under the 398 days browsers accept.
const SERVER_VALIDITY: Duration = Duration::days(365);
/// Certificates start one day in the past, so that a clock a little behind still accepts them.
const BACKDATE: Duration = Duration::days(1);
/// A development server certificate expiring sooner than this is renewed at startup.
const RENEW_BEFORE: Duration = Duration::days(1);

/// The names a server certificate is made for when none are given.
pub(crate) const DEFAULT_NAMES: [&str; 1] = ["localhost"];
/// The addresses a server certificate is made for when none are given.
pub(crate) const DEFAULT_IPS: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::LOCALHOST),
    IpAddr::V6(Ipv6Addr::LOCALHOST),
];

/// Why a certificate could not be made or loaded. The message names the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CertError {
    /// A file to write exists already and `force` was not given.
    Exists(String),
    /// A file's content is not what it should be, or the request itself is invalid (no
    /// names, a malformed name, a key that does not belong to its certificate).
    Invalid(String),
    /// Reading, writing or creating a file or directory failed.
    Io(String),
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertError::Exists(m) | CertError::Invalid(m) | CertError::Io(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CertError {}

/// A file in the way or an unusable certificate is the user's to fix (exit code 2); a failed
/// read or write is the environment's (exit code 1).
impl From<CertError> for Failure {
    fn from(error: CertError) -> Failure {
        match error {
            CertError::Exists(m) | CertError::Invalid(m) => Failure::Usage(m),
            CertError::Io(m) => Failure::Runtime(m),
        }
    }
}

/// The files of a development CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaFiles {
    /// `ca.pem`: the certificate, PEM.
    pub(crate) cert_pem: PathBuf,
    /// `ca.der`: the certificate, DER.
    pub(crate) cert_der: PathBuf,
    /// `ca-key.pem`: the private key, PKCS#8 PEM, mode 0600.
    pub(crate) key_pem: PathBuf,
}

impl CaFiles {
    fn in_dir(dir: &Path) -> CaFiles {
        CaFiles {
            cert_pem: dir.join(CA_CERT_PEM),
            cert_der: dir.join(CA_CERT_DER),
            key_pem: dir.join(CA_KEY_PEM),
        }
    }

    /// Every file, in the order they are written.
    pub(crate) fn paths(&self) -> [&Path; 3] {
        [&self.cert_pem, &self.cert_der, &self.key_pem]
    }
}

/// The files of a server certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerFiles {
    /// `server.pem`: the server certificate then the CA certificate, PEM.
    pub(crate) chain_pem: PathBuf,
    /// `server.der`: the server certificate alone, DER.
    pub(crate) cert_der: PathBuf,
    /// `server-key.pem`: the private key, PKCS#8 PEM, mode 0600.
    pub(crate) key_pem: PathBuf,
}

impl ServerFiles {
    fn in_dir(dir: &Path) -> ServerFiles {
        ServerFiles {
            chain_pem: dir.join(SERVER_CHAIN_PEM),
            cert_der: dir.join(SERVER_CERT_DER),
            key_pem: dir.join(SERVER_KEY_PEM),
        }
    }

    /// Every file, in the order they are written.
    pub(crate) fn paths(&self) -> [&Path; 3] {
        [&self.chain_pem, &self.cert_der, &self.key_pem]
    }
}

/// What [`ensure_dev_certs`] had to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DevCertsOrigin {
    /// Everything was there already and is still valid.
    Existing,
    /// The CA was there; a server certificate was made with it (there was none, or the old
    /// one had expired or was about to).
    NewServer,
    /// Nothing was there: a new CA and a server certificate were made.
    NewCaAndServer,
}

/// The development certificate in a directory, ready to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DevCerts {
    /// `server.pem`: the chain to serve.
    pub(crate) cert: PathBuf,
    /// `server-key.pem`: its private key.
    pub(crate) key: PathBuf,
    /// `ca.pem`: the CA certificate clients must trust. It may be missing if the user removed
    /// it after the server certificate was made; serving does not need it.
    pub(crate) ca: PathBuf,
    /// Whether anything was just created.
    pub(crate) origin: DevCertsOrigin,
}

/// Makes a development CA in `out` (created if missing): `ca.pem`, `ca.der`, `ca-key.pem`.
/// Existing files are an error unless `force`.
pub(crate) fn make_ca(out: &Path, force: bool) -> Result<CaFiles, CertError> {
    let files = CaFiles::in_dir(out);
    if !force {
        refuse_existing(&files.paths())?;
    }
    let key = new_key()?;
    let now = OffsetDateTime::now_utc();
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(CA_COMMON_NAME);
    // Path length 0: this CA signs server certificates, never another CA.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = now - BACKDATE;
    params.not_after = now + CA_VALIDITY;
    let cert = params
        .self_signed(&key)
        .map_err(|e| CertError::Invalid(format!("cannot make the CA certificate: {e}")))?;

    create_dir(out)?;
    write_file(&files.cert_pem, cert.pem().as_bytes(), Mode::Public, force)?;
    write_file(&files.cert_der, cert.der(), Mode::Public, force)?;
    write_file(
        &files.key_pem,
        key.serialize_pem().as_bytes(),
        Mode::Private,
        force,
    )?;
    Ok(files)
}

/// Makes a server certificate for `names` (DNS) and `ips` signed by the CA in `ca_dir`
/// (`ca.pem` and `ca-key.pem`), in `out` (created if missing): `server.pem` (the certificate
/// then the CA's), `server.der`, `server-key.pem`. At least one name or address is needed.
/// Existing files are an error unless `force`.
pub(crate) fn make_server(
    ca_dir: &Path,
    out: &Path,
    names: &[String],
    ips: &[IpAddr],
    force: bool,
) -> Result<ServerFiles, CertError> {
    let files = ServerFiles::in_dir(out);
    let sans = subject_alt_names(names, ips)?;
    if !force {
        refuse_existing(&files.paths())?;
    }
    let ca = LoadedCa::load(ca_dir)?;

    let key = new_key()?;
    let now = OffsetDateTime::now_utc();
    let mut params = CertificateParams::default();
    let common_name = names
        .first()
        .cloned()
        .or_else(|| ips.first().map(ToString::to_string))
        .unwrap_or_default();
    params.distinguished_name = distinguished_name(&common_name);
    params.subject_alt_names = sans;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - BACKDATE;
    // Never past the CA's own end: a chain is only as valid as its shortest link.
    params.not_after = (now + SERVER_VALIDITY).min(ca.not_after);
    let cert = params
        .signed_by(&key, &ca.issuer, &ca.key)
        .map_err(|e| CertError::Invalid(format!("cannot make the server certificate: {e}")))?;

    let mut chain = cert.pem();
    if !chain.ends_with('\n') {
        chain.push('\n');
    }
    chain.push_str(&ca.pem);
    if !chain.ends_with('\n') {
        chain.push('\n');
    }

    create_dir(out)?;
    write_file(&files.chain_pem, chain.as_bytes(), Mode::Public, force)?;
    write_file(&files.cert_der, cert.der(), Mode::Public, force)?;
    write_file(
        &files.key_pem,
        key.serialize_pem().as_bytes(),
        Mode::Private,
        force,
    )?;
    Ok(files)
}

/// Makes sure `dir` holds a development CA and a server certificate for `localhost`,
/// `127.0.0.1` and `::1` that it signed, creating what is missing:
///
/// * `server.pem` and `server-key.pem` exist: they are used as they are, unless the
///   certificate has expired (or expires within a day) and the CA key is there to renew it.
/// * neither exists: a server certificate is made with the CA in `dir`, and the CA too if
///   neither `ca.pem` nor `ca-key.pem` exists.
///
/// Half a pair (a certificate without its key, or the reverse) is an error that names the
/// missing file: guessing could serve a certificate with the wrong key.
pub(crate) fn ensure_dev_certs(dir: &Path) -> Result<DevCerts, CertError> {
    let ca_files = CaFiles::in_dir(dir);
    let server_files = ServerFiles::in_dir(dir);
    let ready = |origin| DevCerts {
        cert: server_files.chain_pem.clone(),
        key: server_files.key_pem.clone(),
        ca: ca_files.cert_pem.clone(),
        origin,
    };

    match (
        exists(&server_files.chain_pem)?,
        exists(&server_files.key_pem)?,
    ) {
        (true, true) => {
            if !expires_soon(&server_files.chain_pem)? || !exists(&ca_files.key_pem)? {
                return Ok(ready(DevCertsOrigin::Existing));
            }
            let names = DEFAULT_NAMES.map(String::from);
            make_server(dir, dir, &names, &DEFAULT_IPS, true)?;
            return Ok(ready(DevCertsOrigin::NewServer));
        }
        (true, false) => return Err(half_pair(&server_files.chain_pem, &server_files.key_pem)),
        (false, true) => return Err(half_pair(&server_files.key_pem, &server_files.chain_pem)),
        (false, false) => {}
    }

    let origin = match (exists(&ca_files.cert_pem)?, exists(&ca_files.key_pem)?) {
        (true, true) => DevCertsOrigin::NewServer,
        (false, false) => {
            make_ca(dir, false)?;
            DevCertsOrigin::NewCaAndServer
        }
        (true, false) => return Err(half_pair(&ca_files.cert_pem, &ca_files.key_pem)),
        (false, true) => return Err(half_pair(&ca_files.key_pem, &ca_files.cert_pem)),
    };
    let names = DEFAULT_NAMES.map(String::from);
    make_server(dir, dir, &names, &DEFAULT_IPS, false)?;
    Ok(ready(origin))
}

/// Runs `gust-sample cert ...`: returns the files written, in order.
pub(crate) fn run_command(command: &CertCommand) -> Result<Vec<PathBuf>, CertError> {
    let written = match command {
        CertCommand::Ca { out, force } => make_ca(out, *force)?.paths().map(Path::to_path_buf),
        CertCommand::Server {
            ca,
            out,
            names,
            ips,
            force,
        } => make_server(ca, out, names, ips, *force)?
            .paths()
            .map(Path::to_path_buf),
    };
    Ok(written.into())
}

/// A CA loaded from disk, ready to sign.
struct LoadedCa {
    /// The CA as rcgen's issuer: its name and key identifier, taken from `ca.pem`.
    issuer: Certificate,
    key: KeyPair,
    /// `ca.pem`'s first certificate, re-encoded as PEM for the server's chain.
    pem: String,
    not_after: OffsetDateTime,
}

impl LoadedCa {
    fn load(dir: &Path) -> Result<LoadedCa, CertError> {
        let cert_path = dir.join(CA_CERT_PEM);
        let key_path = dir.join(CA_KEY_PEM);
        let cert_der = read_first_certificate(&cert_path)?;
        let key = read_private_key(&key_path)?;

        let (_, parsed) = x509_parser::parse_x509_certificate(&cert_der).map_err(|e| {
            CertError::Invalid(format!(
                "{} is not a valid X.509 certificate: {e}",
                cert_path.display()
            ))
        })?;
        if !parsed.is_ca() {
            return Err(CertError::Invalid(format!(
                "{} is not a CA certificate (no basic constraints with CA:TRUE): make one with \
                 `gust-sample cert ca`",
                cert_path.display()
            )));
        }
        if parsed
            .tbs_certificate
            .subject_pki
            .subject_public_key
            .data
            .as_ref()
            != key.public_key_raw()
        {
            return Err(CertError::Invalid(format!(
                "{} does not match the CA certificate {}: it is another key",
                key_path.display(),
                cert_path.display()
            )));
        }
        let not_after = parsed.validity().not_after.to_datetime();
        if not_after <= OffsetDateTime::now_utc() {
            return Err(CertError::Invalid(format!(
                "{} has expired ({not_after}): make a new CA with `gust-sample cert ca --force`",
                cert_path.display()
            )));
        }

        // rcgen signs with a `Certificate` as issuer; only its subject name and key identifier
        // are used, and both come from the parsed `ca.pem` (re-signing it changes neither).
        let pem = pem_block("CERTIFICATE", &cert_der);
        let params = CertificateParams::from_ca_cert_pem(&pem).map_err(|e| {
            CertError::Invalid(format!(
                "{} cannot be used to sign: {e}",
                cert_path.display()
            ))
        })?;
        let issuer = params.self_signed(&key).map_err(|e| {
            CertError::Invalid(format!(
                "{} cannot sign with {}: {e}",
                cert_path.display(),
                key_path.display()
            ))
        })?;
        Ok(LoadedCa {
            issuer,
            key,
            pem,
            not_after,
        })
    }
}

fn new_key() -> Result<KeyPair, CertError> {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
        .map_err(|e| CertError::Io(format!("cannot generate a key: {e}")))
}

fn distinguished_name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, ORGANIZATION);
    name.push(DnType::CommonName, common_name);
    name
}

/// The subject alternative names: every name as DNS, every address as IP.
fn subject_alt_names(names: &[String], ips: &[IpAddr]) -> Result<Vec<SanType>, CertError> {
    if names.is_empty() && ips.is_empty() {
        return Err(CertError::Invalid(
            "a server certificate needs at least one name or IP address".to_owned(),
        ));
    }
    let mut sans = Vec::with_capacity(names.len() + ips.len());
    for name in names {
        check_dns_name(name)?;
        let ia5 = name
            .as_str()
            .try_into()
            .map_err(|e| CertError::Invalid(format!("{name:?} is not a valid DNS name: {e}")))?;
        sans.push(SanType::DnsName(ia5));
    }
    sans.extend(ips.iter().copied().map(SanType::IpAddress));
    Ok(sans)
}

/// A DNS name: labels of letters, digits, hyphens and underscores, an optional leading `*.`
/// wildcard, at most 253 characters. An IP address is refused with a pointer to `--ip`.
fn check_dns_name(name: &str) -> Result<(), CertError> {
    if name.parse::<IpAddr>().is_ok() {
        return Err(CertError::Invalid(format!(
            "{name} is an IP address, not a DNS name: give it with --ip"
        )));
    }
    let bare = name.strip_prefix("*.").unwrap_or(name);
    let bare = bare.strip_suffix('.').unwrap_or(bare);
    let valid_label = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if name.len() > 253 || bare.is_empty() || !bare.split('.').all(valid_label) {
        return Err(CertError::Invalid(format!(
            "{name:?} is not a valid DNS name (letters, digits and hyphens in dot-separated \
             labels, optionally starting with \"*.\")"
        )));
    }
    Ok(())
}

/// Reads `path` and returns the DER of its first PEM certificate.
fn read_first_certificate(path: &Path) -> Result<Vec<u8>, CertError> {
    let text = read(path)?;
    let not_a_cert = |why: String| {
        CertError::Invalid(format!(
            "{} is not a PEM certificate: {why}",
            path.display()
        ))
    };
    let block = first_pem_block(&text).map_err(not_a_cert)?;
    if block.tag() != "CERTIFICATE" {
        return Err(not_a_cert(format!(
            "its first block is {:?}, not \"CERTIFICATE\"",
            block.tag()
        )));
    }
    Ok(block.into_contents())
}

/// Reads a PKCS#8 PEM private key.
fn read_private_key(path: &Path) -> Result<KeyPair, CertError> {
    let text = read(path)?;
    let not_a_key =
        |why: String| CertError::Invalid(format!("{} is not a private key: {why}", path.display()));
    let pem = first_pem_block(&text).map_err(not_a_key)?;
    match pem.tag() {
        "PRIVATE KEY" => {}
        "EC PRIVATE KEY" | "RSA PRIVATE KEY" => {
            return Err(CertError::Invalid(format!(
                "{} is a {} (SEC1/PKCS#1); PKCS#8 is needed: convert it with \
                 `openssl pkcs8 -topk8 -nocrypt -in {0} -out key.pem`",
                path.display(),
                pem.tag()
            )))
        }
        "ENCRYPTED PRIVATE KEY" => {
            return Err(CertError::Invalid(format!(
                "{} is encrypted; an unencrypted PKCS#8 key is needed",
                path.display()
            )))
        }
        other => {
            return Err(not_a_key(format!(
                "its first PEM block is {other:?}, not \"PRIVATE KEY\""
            )))
        }
    }
    KeyPair::try_from(pem.contents()).map_err(|e| {
        not_a_key(format!(
            "not a key that can sign certificates here (ECDSA, Ed25519 or RSA PKCS#8): {e}"
        ))
    })
}

/// Whether the first certificate in `path` expires within [`RENEW_BEFORE`]. A file that does
/// not parse counts as valid: the server's own loading reports it better.
fn expires_soon(path: &Path) -> Result<bool, CertError> {
    let Ok(der) = read_first_certificate(path) else {
        return Ok(false);
    };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(&der) else {
        return Ok(false);
    };
    Ok(cert.validity().not_after.to_datetime() <= OffsetDateTime::now_utc() + RENEW_BEFORE)
}

fn read(path: &Path) -> Result<Vec<u8>, CertError> {
    fs::read(path).map_err(|e| {
        let hint = if e.kind() == io::ErrorKind::NotFound
            && path
                .file_name()
                .is_some_and(|n| n == CA_CERT_PEM || n == CA_KEY_PEM)
        {
            let dir = path.parent().unwrap_or_else(|| Path::new("."));
            format!(
                " (make a CA with `gust-sample cert ca --out {}`)",
                dir.display()
            )
        } else {
            String::new()
        };
        CertError::Io(format!("cannot read {}: {e}{hint}", path.display()))
    })
}

fn exists(path: &Path) -> Result<bool, CertError> {
    path.try_exists()
        .map_err(|e| CertError::Io(format!("cannot check {}: {e}", path.display())))
}

fn half_pair(present: &Path, missing: &Path) -> CertError {
    CertError::Invalid(format!(
        "{} exists but {} does not: restore it, or remove {} to make new ones",
        present.display(),
        missing.display(),
        present.display()
    ))
}

/// Checks all targets before anything is written, so that a refusal leaves no half-made set.
fn refuse_existing(paths: &[&Path]) -> Result<(), CertError> {
    for path in paths {
        if exists(path)? {
            return Err(CertError::Exists(format!(
                "{} already exists: pass --force to overwrite it",
                path.display()
            )));
        }
    }
    Ok(())
}

fn create_dir(dir: &Path) -> Result<(), CertError> {
    fs::create_dir_all(dir)
        .map_err(|e| CertError::Io(format!("cannot create directory {}: {e}", dir.display())))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Readable by all (before the umask): certificates.
    Public,
    /// Owner only, from the moment the file exists: private keys.
    Private,
}

impl Mode {
    #[cfg(unix)]
    fn apply(self, options: &mut fs::OpenOptions) {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(match self {
            Mode::Public => 0o644,
            Mode::Private => 0o600,
        });
    }

    #[cfg(not(unix))]
    fn apply(self, _options: &mut fs::OpenOptions) {}
}

/// Writes a new file with `mode`. Without `force` it must not exist (checked atomically by the
/// create). With `force` the content goes to a new temporary file beside it, renamed over the
/// old one: an existing key file's looser permissions are never inherited, and a reader never
/// sees half a file.
fn write_file(path: &Path, contents: &[u8], mode: Mode, force: bool) -> Result<(), CertError> {
    let io_error =
        |what: &str, e: io::Error| CertError::Io(format!("cannot {what} {}: {e}", path.display()));
    let create = |target: &Path| -> io::Result<()> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        mode.apply(&mut options);
        let mut file = options.open(target)?;
        file.write_all(contents)?;
        file.sync_all()
    };

    if !force {
        return create(path).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                CertError::Exists(format!(
                    "{} already exists: pass --force to overwrite it",
                    path.display()
                ))
            } else {
                io_error("write", e)
            }
        });
    }

    let name = path
        .file_name()
        .map_or_else(|| "cert".into(), |n| n.to_string_lossy().into_owned());
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    // A leftover from a killed run of this same process id: it is ours to replace.
    let _ = fs::remove_file(&temp);
    if let Err(e) = create(&temp) {
        let _ = fs::remove_file(&temp);
        return Err(io_error("write", e));
    }
    fs::rename(&temp, path).map_err(|e| {
        let _ = fs::remove_file(&temp);
        io_error("replace", e)
    })
}

/// One PEM block with Unix line ends.
fn pem_block(label: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(label, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// The first PEM block of a file's content, or why there is none.
fn first_pem_block(text: &[u8]) -> Result<pem::Pem, String> {
    match pem::parse_many(text) {
        Ok(blocks) => blocks
            .into_iter()
            .next()
            .ok_or_else(|| "it has no \"-----BEGIN ...-----\" block".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
    use x509_parser::extensions::GeneralName;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn certificates(path: &Path) -> Vec<Vec<u8>> {
        pem::parse_many(fs::read(path).unwrap())
            .unwrap()
            .into_iter()
            .map(|block| {
                assert_eq!(block.tag(), "CERTIFICATE");
                block.into_contents()
            })
            .collect()
    }

    fn localhost() -> (Vec<String>, Vec<IpAddr>) {
        (
            DEFAULT_NAMES.map(String::from).to_vec(),
            DEFAULT_IPS.to_vec(),
        )
    }

    /// Checks the chain as a TLS client would: signature, validity, CA constraints, the
    /// serverAuth usage and the name.
    fn verify(chain: &[Vec<u8>], ca_der: &[u8], name: &str) -> Result<(), webpki::Error> {
        let ca = CertificateDer::from(ca_der);
        let anchor = webpki::anchor_from_trusted_cert(&ca)?;
        let leaf = CertificateDer::from(chain[0].as_slice());
        let leaf = webpki::EndEntityCert::try_from(&leaf)?;
        let intermediates: Vec<CertificateDer<'_>> = chain[1..]
            .iter()
            .map(|c| CertificateDer::from(c.as_slice()))
            .collect();
        leaf.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &[anchor],
            &intermediates,
            UnixTime::now(),
            webpki::KeyUsage::server_auth(),
            None,
            None,
        )?;
        let name = ServerName::try_from(name).unwrap();
        leaf.verify_is_valid_for_subject_name(&name)
    }

    #[test]
    fn ca_files_and_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("nested/ca");
        let files = make_ca(&out, false).unwrap();
        assert_eq!(files.cert_pem, out.join("ca.pem"));
        assert_eq!(files.cert_der, out.join("ca.der"));
        assert_eq!(files.key_pem, out.join("ca-key.pem"));
        for path in files.paths() {
            assert!(path.is_file(), "{}", path.display());
        }
        assert_eq!(mode(&files.key_pem), 0o600);
        let key = fs::read_to_string(&files.key_pem).unwrap();
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "{key}");

        let pem_ders = certificates(&files.cert_pem);
        assert_eq!(pem_ders.len(), 1);
        assert_eq!(pem_ders[0], fs::read(&files.cert_der).unwrap());
        let (_, ca) = x509_parser::parse_x509_certificate(&pem_ders[0]).unwrap();
        assert!(ca.is_ca());
        assert_eq!(ca.subject(), ca.issuer());
        assert!(ca.subject().to_string().contains(CA_COMMON_NAME));
        let usage = ca.key_usage().unwrap().unwrap().value;
        assert!(usage.key_cert_sign() && usage.crl_sign());
        let now = OffsetDateTime::now_utc();
        let not_before = ca.validity().not_before.to_datetime();
        let not_after = ca.validity().not_after.to_datetime();
        assert!(not_before < now - Duration::hours(23), "{not_before}");
        assert!(not_after > now + Duration::days(9 * 365), "{not_after}");
    }

    #[test]
    fn server_chains_to_its_ca() {
        let dir = tempfile::tempdir().unwrap();
        let ca = make_ca(&dir.path().join("ca"), false).unwrap();
        let names = vec!["localhost".to_owned(), "*.device.test".to_owned()];
        let ips: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
        let out = dir.path().join("srv");
        let files = make_server(&dir.path().join("ca"), &out, &names, &ips, false).unwrap();
        assert_eq!(files.chain_pem, out.join("server.pem"));
        assert_eq!(files.cert_der, out.join("server.der"));
        assert_eq!(files.key_pem, out.join("server-key.pem"));
        assert_eq!(mode(&files.key_pem), 0o600);

        let chain = certificates(&files.chain_pem);
        assert_eq!(chain.len(), 2, "server.pem is the leaf then the CA");
        assert_eq!(chain[0], fs::read(&files.cert_der).unwrap());
        let ca_der = fs::read(&ca.cert_der).unwrap();
        assert_eq!(chain[1], ca_der);

        let (_, leaf) = x509_parser::parse_x509_certificate(&chain[0]).unwrap();
        let (_, ca_cert) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
        assert_eq!(leaf.issuer().as_raw(), ca_cert.subject().as_raw());
        assert!(!leaf.is_ca());
        let eku = leaf.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth);
        let sans = &leaf.subject_alternative_name().unwrap().unwrap().value;
        let mut dns = vec![];
        let mut addrs = vec![];
        for san in &sans.general_names {
            match san {
                GeneralName::DNSName(name) => dns.push(name.to_string()),
                GeneralName::IPAddress(bytes) => addrs.push(bytes.to_vec()),
                other => panic!("unexpected SAN {other:?}"),
            }
        }
        assert_eq!(dns, names);
        assert_eq!(
            addrs,
            vec![vec![127, 0, 0, 1], Ipv6Addr::LOCALHOST.octets().to_vec()]
        );
        let lifetime =
            leaf.validity().not_after.to_datetime() - leaf.validity().not_before.to_datetime();
        assert!(lifetime <= Duration::days(398), "{lifetime}");

        // What a TLS client checks.
        let ca_der = fs::read(&ca.cert_der).unwrap();
        verify(&chain, &ca_der, "localhost").unwrap();
        verify(&chain, &ca_der, "anything.device.test").unwrap();
        verify(&chain, &ca_der, "127.0.0.1").unwrap();
        verify(&chain, &ca_der, "::1").unwrap();
        assert!(verify(&chain, &ca_der, "example.com").is_err());
        // Another CA does not vouch for it.
        let other = make_ca(&dir.path().join("other"), false).unwrap();
        let other_der = fs::read(&other.cert_der).unwrap();
        assert!(verify(&chain[..1], &other_der, "localhost").is_err());
    }

    #[test]
    fn nothing_is_overwritten_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let ca_dir = dir.path().join("ca");
        let ca = make_ca(&ca_dir, false).unwrap();
        let before = fs::read(&ca.key_pem).unwrap();
        match make_ca(&ca_dir, false) {
            Err(CertError::Exists(m)) => {
                assert!(m.contains("ca.pem") && m.contains("--force"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(fs::read(&ca.key_pem).unwrap(), before);

        // One file in the way is enough, and nothing else is written.
        let out = dir.path().join("srv");
        fs::create_dir_all(&out).unwrap();
        fs::write(out.join("server-key.pem"), "mine").unwrap();
        let (names, ips) = localhost();
        match make_server(&ca_dir, &out, &names, &ips, false) {
            Err(CertError::Exists(m)) => {
                assert!(m.contains("server-key.pem") && m.contains("--force"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        assert!(!out.join("server.pem").exists());
        assert_eq!(
            fs::read_to_string(out.join("server-key.pem")).unwrap(),
            "mine"
        );
    }

    #[test]
    fn force_replaces_and_tightens_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let ca_dir = dir.path().join("ca");
        let ca = make_ca(&ca_dir, false).unwrap();
        let old_key = fs::read(&ca.key_pem).unwrap();
        fs::set_permissions(&ca.key_pem, fs::Permissions::from_mode(0o644)).unwrap();
        make_ca(&ca_dir, true).unwrap();
        assert_ne!(fs::read(&ca.key_pem).unwrap(), old_key);
        assert_eq!(mode(&ca.key_pem), 0o600);

        let (names, ips) = localhost();
        let out = dir.path().join("srv");
        let first = make_server(&ca_dir, &out, &names, &ips, false).unwrap();
        let old_leaf = fs::read(&first.cert_der).unwrap();
        let again = make_server(&ca_dir, &out, &names, &ips, true).unwrap();
        assert_ne!(fs::read(&again.cert_der).unwrap(), old_leaf);
        assert_eq!(mode(&again.key_pem), 0o600);
        // No temporary file is left behind.
        let leftovers: Vec<_> = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn ca_problems_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (names, ips) = localhost();
        let out = dir.path().join("srv");
        let err = |ca_dir: &Path| match make_server(ca_dir, &out, &names, &ips, false) {
            Err(e) => e,
            Ok(files) => panic!("made {files:?}"),
        };

        let missing = dir.path().join("missing");
        let e = err(&missing);
        assert!(matches!(e, CertError::Io(_)), "{e:?}");
        assert!(
            e.to_string()
                .contains(&*missing.join("ca.pem").to_string_lossy()),
            "{e}"
        );

        let ca_dir = dir.path().join("ca");
        make_ca(&ca_dir, false).unwrap();
        let ca_pem = ca_dir.join("ca.pem");
        let key_pem = ca_dir.join("ca-key.pem");
        let good_cert = fs::read(&ca_pem).unwrap();
        let good_key = fs::read(&key_pem).unwrap();

        fs::write(&ca_pem, "hello").unwrap();
        let e = err(&ca_dir).to_string();
        assert!(
            e.contains("ca.pem") && e.contains("not a PEM certificate"),
            "{e}"
        );
        fs::write(&ca_pem, &good_key).unwrap();
        let e = err(&ca_dir).to_string();
        assert!(
            e.contains("ca.pem") && e.contains("not a PEM certificate"),
            "{e}"
        );
        fs::write(&ca_pem, &good_cert).unwrap();

        fs::write(&key_pem, &good_cert).unwrap();
        let e = err(&ca_dir).to_string();
        assert!(
            e.contains("ca-key.pem") && e.contains("not a private key"),
            "{e}"
        );

        // A key of its own, but not the CA's.
        let stranger = new_key().unwrap().serialize_pem();
        fs::write(&key_pem, stranger).unwrap();
        let e = err(&ca_dir).to_string();
        assert!(
            e.contains("ca-key.pem") && e.contains("does not match"),
            "{e}"
        );

        // A server certificate is not a CA.
        fs::write(&key_pem, &good_key).unwrap();
        let leaf = make_server(&ca_dir, &dir.path().join("leaf"), &names, &ips, false).unwrap();
        let leaf_ca = dir.path().join("leaf-as-ca");
        fs::create_dir_all(&leaf_ca).unwrap();
        fs::copy(&leaf.chain_pem, leaf_ca.join("ca.pem")).unwrap();
        fs::copy(&leaf.key_pem, leaf_ca.join("ca-key.pem")).unwrap();
        let e = err(&leaf_ca).to_string();
        assert!(e.contains("not a CA certificate"), "{e}");

        assert!(!out.exists(), "nothing written after an error");
    }

    #[test]
    fn names_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let ca_dir = dir.path().join("ca");
        make_ca(&ca_dir, false).unwrap();
        let out = dir.path().join("srv");
        let e = make_server(&ca_dir, &out, &[], &[], false).unwrap_err();
        assert!(e.to_string().contains("at least one"), "{e}");
        for bad in [
            "",
            "bad name",
            "-x.test",
            "a..b",
            "caf\u{e9}.test",
            "127.0.0.1",
        ] {
            let e = make_server(&ca_dir, &out, &[bad.to_owned()], &[], false).unwrap_err();
            assert!(matches!(e, CertError::Invalid(_)), "{bad:?}: {e:?}");
        }
        let e = make_server(&ca_dir, &out, &["10.0.0.1".to_owned()], &[], false).unwrap_err();
        assert!(e.to_string().contains("--ip"), "{e}");
        // An address alone is enough.
        let ips = ["192.0.2.7".parse().unwrap()];
        make_server(&ca_dir, &out, &[], &ips, false).unwrap();
    }

    #[test]
    fn dev_certs_are_made_once() {
        let dir = tempfile::tempdir().unwrap();
        let certs = dir.path().join("dev");
        let first = ensure_dev_certs(&certs).unwrap();
        assert_eq!(first.origin, DevCertsOrigin::NewCaAndServer);
        assert_eq!(first.cert, certs.join("server.pem"));
        assert_eq!(first.key, certs.join("server-key.pem"));
        assert_eq!(first.ca, certs.join("ca.pem"));
        for name in [
            "ca.pem",
            "ca.der",
            "ca-key.pem",
            "server.pem",
            "server.der",
            "server-key.pem",
        ] {
            assert!(certs.join(name).is_file(), "{name}");
        }
        assert_eq!(mode(&first.key), 0o600);
        assert_eq!(mode(&certs.join("ca-key.pem")), 0o600);
        let chain = certificates(&first.cert);
        let ca_der = fs::read(certs.join("ca.der")).unwrap();
        for name in ["localhost", "127.0.0.1", "::1"] {
            verify(&chain, &ca_der, name).unwrap();
        }

        let leaf = fs::read(&first.cert).unwrap();
        let second = ensure_dev_certs(&certs).unwrap();
        assert_eq!(second.origin, DevCertsOrigin::Existing);
        assert_eq!(fs::read(&second.cert).unwrap(), leaf);

        // The CA is kept when only the server certificate is gone.
        let ca_key = fs::read(certs.join("ca-key.pem")).unwrap();
        for name in ["server.pem", "server.der", "server-key.pem"] {
            fs::remove_file(certs.join(name)).unwrap();
        }
        let third = ensure_dev_certs(&certs).unwrap();
        assert_eq!(third.origin, DevCertsOrigin::NewServer);
        assert_eq!(fs::read(certs.join("ca-key.pem")).unwrap(), ca_key);
        verify(&certificates(&third.cert), &ca_der, "localhost").unwrap();

        // Half a pair is not guessed at.
        fs::remove_file(certs.join("server-key.pem")).unwrap();
        let e = ensure_dev_certs(&certs).unwrap_err().to_string();
        assert!(e.contains("server-key.pem"), "{e}");
    }

    #[test]
    fn pem_blocks_round_trip() {
        for len in [0, 1, 2, 3, 47, 48, 49, 100] {
            let der: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            let text = pem_block("CERTIFICATE", &der);
            assert!(!text.contains('\r'));
            assert_eq!(first_pem_block(text.as_bytes()).unwrap().contents(), der);
        }
    }

    #[test]
    fn errors_map_to_exit_codes() {
        assert!(matches!(
            Failure::from(CertError::Exists("x".into())),
            Failure::Usage(_)
        ));
        assert!(matches!(
            Failure::from(CertError::Invalid("x".into())),
            Failure::Usage(_)
        ));
        assert!(matches!(
            Failure::from(CertError::Io("x".into())),
            Failure::Runtime(_)
        ));
    }
}
