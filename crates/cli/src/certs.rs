//! `drawbridge certs`: the local CA and the server certificate for a MetaApi domain.

use anyhow::anyhow;
use drawbridge_server::tls::{self, CertFiles};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(crate) struct CertsArgs {
    /// The data dir the server runs on [default: ./data].
    #[arg(long, env = "DRAWBRIDGE_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// The domain clients are configured with (e.g. drawbridge.local or drawbridge.local:8443).
    #[arg(long, env = "DRAWBRIDGE_DOMAIN")]
    domain: String,
    /// A region the certificate covers (repeatable) [default: vint-hill].
    #[arg(long = "region")]
    regions: Vec<String>,
    /// Issue a new server certificate even when the current one covers the names.
    #[arg(long)]
    force: bool,
}

pub(crate) fn run(args: CertsArgs) -> anyhow::Result<()> {
    let regions = if args.regions.is_empty() {
        vec![drawbridge_server::config::DEFAULT_REGION.to_owned()]
    } else {
        args.regions
    };
    let files = CertFiles::of(&args.data_dir);
    let names = tls::names_for(&args.domain, &regions);
    let issued = tls::ensure(&files, &names, args.force).map_err(|e| anyhow!(e))?;
    if issued.ca_created {
        println!(
            "created a certificate authority: {}",
            files.ca_cert().display()
        );
    }
    if issued.server_issued {
        println!("issued {} for:", files.server_cert().display());
    } else {
        println!("{} already covers:", files.server_cert().display());
    }
    for name in &issued.names {
        println!("  {name}");
    }
    println!(
        "trust {} in your clients (e.g. SSL_CERT_FILE for Python), then run:",
        files.ca_cert().display()
    );
    println!(
        "  drawbridge serve --data-dir {} --domain {} --tls",
        args.data_dir.display(),
        args.domain
    );
    Ok(())
}
