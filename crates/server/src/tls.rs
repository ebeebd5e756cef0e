//! HTTPS with a local certificate authority.
//!
//! The MetaApi SDK only speaks https, to host names it builds from its `domain` option:
//! `mt-provisioning-api-v1.<domain>`, `mt-client-api-v1.<region>.<domain>`, the websocket
//! hosts `mt-client-api-v1.<region>-a.<domain>` / `-b`, and so on. `drawbridge certs` makes a
//! CA once per data dir (`certs/ca.pem`, which users trust) and a server certificate signed by
//! it whose names cover each of those levels with a wildcard. The CA is kept across runs, so
//! changing the domain or the regions re-issues only the server certificate.
//!
//! Serving: [`TlsListener`] accepts TCP connections and runs each handshake in its own task
//! (bounded in time), so one slow or hostile client never holds up the accept loop.

use crate::listener::{Guarded, GuardedListener, NoDelay};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Handshakes slower than this are dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Finished handshakes waiting for the server to take them.
const ACCEPTED_QUEUE: usize = 256;
const CA_NAME: &str = "drawbridge local CA";

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{path}: {why}")]
    Invalid { path: PathBuf, why: String },
    #[error(
        "no certificate for this data dir: run `drawbridge certs --data-dir {dir} --domain DOMAIN` first"
    )]
    Missing { dir: String },
}

/// Where a data dir keeps its certificates.
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub dir: PathBuf,
}

impl CertFiles {
    pub fn of(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("certs"),
        }
    }
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }
    pub fn server_cert(&self) -> PathBuf {
        self.dir.join("server.pem")
    }
    fn server_key(&self) -> PathBuf {
        self.dir.join("server.key")
    }
    /// The names the server certificate was issued for, one per line.
    fn names(&self) -> PathBuf {
        self.dir.join("server.names")
    }
}

/// The DNS names a server certificate for `domain` must cover: the domain, every host
/// directly under it, and every host under each region's levels (`<region>`, and the
/// websocket levels `<region>-a`, `<region>-b`). A port on the domain is not part of a name.
pub fn names_for(domain: &str, regions: &[String]) -> Vec<String> {
    let host = domain_host(domain);
    let mut names = vec![host.to_owned(), format!("*.{host}"), "localhost".to_owned()];
    for region in regions {
        for level in [region.clone(), format!("{region}-a"), format!("{region}-b")] {
            names.push(format!("*.{level}.{host}"));
        }
    }
    names.dedup();
    names
}

/// `drawbridge.local:8443` → `drawbridge.local`.
pub fn domain_host(domain: &str) -> &str {
    match domain.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => domain,
    }
}

/// What [`ensure`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub ca_created: bool,
    pub server_issued: bool,
    pub names: Vec<String>,
}

/// Makes sure the data dir has a CA and a server certificate covering `names`; creates the
/// CA only when there is none, and re-issues the server certificate only when its names
/// differ (or `force`).
pub fn ensure(files: &CertFiles, names: &[String], force: bool) -> Result<Issued, TlsError> {
    std::fs::create_dir_all(&files.dir).map_err(|source| TlsError::Io {
        path: files.dir.clone(),
        source,
    })?;
    let (ca_key, ca_created) = match read_optional(&files.ca_key())? {
        Some(pem) => (
            KeyPair::from_pem(&pem).map_err(|e| TlsError::Invalid {
                path: files.ca_key(),
                why: e.to_string(),
            })?,
            false,
        ),
        None => (KeyPair::generate()?, true),
    };
    // The CA certificate is rebuilt from fixed parameters and its key: the same subject and
    // key identifier as the `ca.pem` users trust, so certificates it signs chain to it.
    let ca_cert = ca_params()?.self_signed(&ca_key)?;
    if ca_created || !files.ca_cert().exists() {
        write_secret(&files.ca_key(), &ca_key.serialize_pem())?;
        write(&files.ca_cert(), &ca_cert.pem())?;
    }
    let wanted = names.join("\n");
    let current = read_optional(&files.names())?;
    let up_to_date = !ca_created
        && current.as_deref() == Some(wanted.as_str())
        && files.server_cert().exists()
        && files.server_key().exists();
    if up_to_date && !force {
        return Ok(Issued {
            ca_created,
            server_issued: false,
            names: names.to_vec(),
        });
    }
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(names.to_vec())?;
    params.distinguished_name.push(
        DnType::CommonName,
        names.first().cloned().unwrap_or_default(),
    );
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.use_authority_key_identifier_extension = true;
    let cert = params.signed_by(&key, &ca_cert, &ca_key)?;
    write_secret(&files.server_key(), &key.serialize_pem())?;
    write(&files.server_cert(), &cert.pem())?;
    write(&files.names(), &wanted)?;
    Ok(Issued {
        ca_created,
        server_issued: true,
        names: names.to_vec(),
    })
}

fn ca_params() -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, CA_NAME);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "drawbridge");
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

/// The rustls configuration serving the data dir's server certificate (HTTP/1.1).
pub fn server_config(files: &CertFiles) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    if !files.server_cert().exists() || !files.server_key().exists() {
        return Err(TlsError::Missing {
            dir: files
                .dir
                .parent()
                .unwrap_or(&files.dir)
                .display()
                .to_string(),
        });
    }
    let invalid = |path: PathBuf| {
        move |e: rustls::pki_types::pem::Error| TlsError::Invalid {
            path: path.clone(),
            why: e.to_string(),
        }
    };
    let certs = CertificateDer::pem_file_iter(files.server_cert())
        .map_err(invalid(files.server_cert()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid(files.server_cert()))?;
    let key =
        PrivateKeyDer::from_pem_file(files.server_key()).map_err(invalid(files.server_key()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Invalid {
            path: files.server_cert(),
            why: e.to_string(),
        })?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Invalid {
            path: files.server_cert(),
            why: e.to_string(),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A listener that hands the server finished TLS connections.
#[derive(Debug)]
pub struct TlsListener {
    accepted: mpsc::Receiver<(TlsStream, SocketAddr)>,
    local: SocketAddr,
    accept_loop: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub fn new(
        mut tcp: GuardedListener<NoDelay>,
        config: Arc<rustls::ServerConfig>,
    ) -> std::io::Result<Self> {
        let local = axum::serve::Listener::local_addr(&tcp)?;
        let (tx, accepted) = mpsc::channel(ACCEPTED_QUEUE);
        let acceptor = TlsAcceptor::from(config);
        let accept_loop = tokio::spawn(async move {
            loop {
                // Errors (out of file descriptors and the like) are backed off inside.
                let (stream, peer) = axum::serve::Listener::accept(&mut tcp).await;
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self {
            accepted,
            local,
            accept_loop,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

/// A TLS connection over a guarded TCP stream.
pub type TlsStream = tokio_rustls::server::TlsStream<Guarded<TcpStream>>;

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(conn) => conn,
            // The accept loop only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

fn read_optional(path: &Path) -> Result<Option<String>, TlsError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(TlsError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

fn write(path: &Path, text: &str) -> Result<(), TlsError> {
    std::fs::write(path, text).map_err(|source| TlsError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Writes a private key readable by its owner only.
fn write_secret(path: &Path, text: &str) -> Result<(), TlsError> {
    write(path, text)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(
            |source| TlsError::Io {
                path: path.to_owned(),
                source,
            },
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cover_every_level_the_sdk_uses() {
        let names = names_for("drawbridge.local:8443", &["vint-hill".into()]);
        assert_eq!(
            names,
            [
                "drawbridge.local",
                "*.drawbridge.local",
                "localhost",
                "*.vint-hill.drawbridge.local",
                "*.vint-hill-a.drawbridge.local",
                "*.vint-hill-b.drawbridge.local",
            ]
        );
    }

    #[test]
    fn the_ca_survives_a_reissue_and_the_server_cert_follows_the_names() {
        let dir = tempfile::tempdir().unwrap();
        let files = CertFiles::of(dir.path());
        let a = names_for("one.test", &["r".into()]);
        let first = ensure(&files, &a, false).unwrap();
        assert!(first.ca_created && first.server_issued);
        let ca = std::fs::read_to_string(files.ca_cert()).unwrap();
        let again = ensure(&files, &a, false).unwrap();
        assert!(!again.ca_created && !again.server_issued);
        let b = names_for("two.test", &["r".into()]);
        let other = ensure(&files, &b, false).unwrap();
        assert!(!other.ca_created && other.server_issued);
        assert_eq!(std::fs::read_to_string(files.ca_cert()).unwrap(), ca);
        server_config(&files).unwrap();
    }
}
