//! `--tls`: a client that trusts only the data dir's CA reaches the server under every host
//! name the SDK builds from the domain, and the certificate is not valid for other names.

use crate::support::Fixture;
use drawbridge_server::config::Layer;
use drawbridge_server::tls::CertFiles;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, RootCertStore};

fn connector(ca_pem: &std::path::Path) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_pem).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// `GET /health` over TLS with `host` as the SNI name and Host header.
async fn health(
    connector: &TlsConnector,
    addr: std::net::SocketAddr,
    host: &str,
) -> std::io::Result<String> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = ServerName::try_from(host.to_owned()).unwrap();
    let mut tls = connector.connect(name, tcp).await?;
    let request = format!("GET /health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    tls.read_to_string(&mut response).await?;
    Ok(response)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_under_every_sdk_host_name_with_the_local_ca() {
    let fx = Fixture::start_with(Layer {
        domain: Some("drawbridge.test:8443".into()),
        tls: Some(true),
        seed: Some(3),
        ..Layer::default()
    })
    .await;
    assert_eq!(fx.running().scheme, "https");
    let connector = connector(&CertFiles::of(fx.dir()).ca_cert());
    for host in [
        "mt-provisioning-api-v1.drawbridge.test",
        "mt-client-api-v1.vint-hill.drawbridge.test",
        "mt-client-api-v1.vint-hill-a.drawbridge.test",
        "mt-client-api-v1.vint-hill-b.drawbridge.test",
        "mt-market-data-client-api-v1.vint-hill.drawbridge.test",
        "risk-management-api-v1.vint-hill.drawbridge.test",
        "localhost",
    ] {
        let response = health(&connector, fx.addr(), host).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{host}: {response}");
        assert!(response.contains("\"status\":\"ok\""), "{host}: {response}");
    }
    // The certificate names the domain's hosts only.
    let wrong = health(&connector, fx.addr(), "mt-client-api-v1.elsewhere.test").await;
    assert!(wrong.is_err(), "a foreign host name must fail verification");
    // Plain http on the TLS port gets no HTTP answer.
    let mut tcp = tokio::net::TcpStream::connect(fx.addr()).await.unwrap();
    tcp.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tcp.read_to_end(&mut buf).await;
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
    fx.stop().await;
}
