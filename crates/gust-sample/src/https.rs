//! The sample's HTTPS listener: the same resources as the plain one, over TLS with the
//! certificate the user named, or a development certificate made on the first start.

use std::path::{Path, PathBuf};

use gust::tls::load_certificates;
use gust::{CredentialStore, Credentials, Service, TlsOptions};

use crate::cert::{self, DevCertsOrigin};
use crate::cli::{CertSource, TlsSettings};
use crate::Failure;

/// The credential store's tag for the sample's server certificate.
const SERVER_TAG: &str = "server";
/// The tag of the CA that client certificates must chain to (`--client-ca`).
const CLIENT_CA_TAG: &str = "client-ca";

/// Loads the certificate files again into the running server's store (on SIGHUP): new
/// handshakes use the new certificate, open connections keep theirs.
#[derive(Debug, Clone)]
pub(crate) struct Reloader {
    store: CredentialStore,
    cert: PathBuf,
    key: PathBuf,
}

impl Reloader {
    /// Reloads; on failure the old certificate stays in use and the reason is returned.
    pub(crate) fn reload(&self) -> Result<(), String> {
        let credentials = Credentials::load(&self.cert, &self.key).map_err(|e| e.to_string())?;
        self.store
            .register(SERVER_TAG, credentials)
            .map_err(|e| format!("{}: {e}", self.cert.display()))
    }
}

/// The HTTPS twin of `plain`, listening on `tls.listen`, and what reloads its certificate.
/// A certificate or key that cannot be used stops the start with a message naming the file
/// (exit code 2).
pub(crate) fn service(plain: &Service, tls: &TlsSettings) -> Result<(Service, Reloader), Failure> {
    if let CertSource::Development { cert_dir } = &tls.source {
        let dev = cert::ensure_dev_certs(cert_dir)?;
        if dev.origin != DevCertsOrigin::Existing {
            explain_development_ca(&dev.ca, dev.origin);
        }
    }
    let store = CredentialStore::new();
    let credentials = Credentials::load(&tls.cert, &tls.key)
        .map_err(|e| Failure::Usage(format!("HTTPS certificate: {e}")))?;
    store.register(SERVER_TAG, credentials).map_err(|e| {
        Failure::Usage(format!(
            "HTTPS certificate {} with key {}: {e}",
            tls.cert.display(),
            tls.key.display()
        ))
    })?;
    let mut options = TlsOptions::new(&store, SERVER_TAG).handshake_timeout(tls.handshake_timeout);
    if let Some(client_ca) = &tls.client_ca {
        let cas =
            load_certificates(client_ca).map_err(|e| Failure::Usage(format!("client CA: {e}")))?;
        store
            .register_ca(CLIENT_CA_TAG, cas)
            .map_err(|e| Failure::Usage(format!("client CA {}: {e}", client_ca.display())))?;
        options = options.client_ca(CLIENT_CA_TAG);
    }
    let service = plain
        .with_tls(tls.listen, &options)
        .map_err(|e| Failure::Usage(format!("HTTPS: {e}")))?;
    let reloader = Reloader {
        store,
        cert: tls.cert.clone(),
        key: tls.key.clone(),
    };
    Ok((service, reloader))
}

/// Says, on stderr (stdout carries only the `listening on` lines), where the development
/// CA is and how to make a browser trust it.
fn explain_development_ca(ca: &Path, origin: DevCertsOrigin) {
    let what = match origin {
        DevCertsOrigin::NewCaAndServer => "created a development CA and a server certificate",
        _ => "made a new server certificate with the development CA",
    };
    eprintln!(
        "gust-sample: {what} for localhost, 127.0.0.1 and ::1.\n\
         gust-sample: the CA is {ca}; trust it to browse https://localhost:PORT/ without \
         warnings:\n\
         gust-sample:   curl: curl --cacert {ca} https://localhost:8443/\n\
         gust-sample:   Chromium: certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n gust-dev -i {ca}\n\
         gust-sample:   Firefox: Settings > Privacy & Security > Certificates > View \
         Certificates > Authorities > Import",
        ca = ca.display()
    );
}
