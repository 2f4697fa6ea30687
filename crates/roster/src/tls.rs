//! HTTPS: rustls, with a certificate roster makes once (a local CA and a server certificate for
//! localhost and the vendors' hosts, kept in the data directory) or the user's own. Clients
//! that hard-code `https://open.feishu.cn` and the like then reach roster once the host name
//! points at it and the CA is trusted.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// The hosts the generated certificate is for: roster's own names and every vendor host a
/// client may hard-code.
pub const HOSTS: &[&str] = &[
    "localhost",
    "127.0.0.1",
    "::1",
    "open.feishu.cn",
    "open.larksuite.com",
    "accounts.feishu.cn",
    "accounts.larksuite.com",
    "console.tim.qq.com",
    "adminapi.my-imcloud.com",
    "adminapisgp.im.qcloud.com",
    "adminapikr.im.qcloud.com",
    "adminapijpn.im.qcloud.com",
    "adminapiger.im.qcloud.com",
    "adminapiind.im.qcloud.com",
    "adminapiusa.im.qcloud.com",
    "adminapiidn.im.qcloud.com",
    "qyapi.weixin.qq.com",
    "qwif.do1.com.cn",
];

/// Where the certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// Made once in `<data>/tls/` and kept.
    Generated,
    /// The user's own PEM files: the certificate chain and its private key.
    Files { cert: PathBuf, key: PathBuf },
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: {source}", path.display())]
    Pem {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("{}: no certificate in it", .0.display())]
    NoCertificate(PathBuf),
    #[error("making the certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the certificate and key are not usable together: {0}")]
    Rustls(#[from] rustls::Error),
}

/// What HTTPS is served with.
pub struct Tls {
    pub acceptor: TlsAcceptor,
    /// The CA to trust, when roster made the certificate.
    pub ca: Option<PathBuf>,
}

impl Tls {
    pub fn load(source: &TlsSource, data: &Path) -> Result<Self, TlsError> {
        let (cert, key, ca) = match source {
            TlsSource::Files { cert, key } => (cert.clone(), key.clone(), None),
            TlsSource::Generated => {
                let generated = generate_once(&data.join("tls"))?;
                (generated.cert, generated.key, Some(generated.ca))
            }
        };
        let chain = CertificateDer::pem_file_iter(&cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|source| TlsError::Pem {
                path: cert.clone(),
                source,
            })?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate(cert));
        }
        let key = PrivateKeyDer::from_pem_file(&key).map_err(|source| TlsError::Pem {
            path: key.clone(),
            source,
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            ca: ca.map(|ca| fs::canonicalize(&ca).unwrap_or(ca)),
        })
    }

    /// How to make clients trust roster and send a vendor's host to it, for the start banner.
    pub fn describe(&self, base: &str, port: u16) -> Vec<String> {
        let Some(ca) = &self.ca else {
            return vec![format!("HTTPS with the given certificate on {base}")];
        };
        let ca = ca.display();
        vec![
            format!("HTTPS with a certificate for localhost, 127.0.0.1 and the vendors' hosts, signed by roster's CA {ca}"),
            format!("  trust it: export SSL_CERT_FILE={ca} REQUESTS_CA_BUNDLE={ca} NODE_EXTRA_CA_CERTS={ca}"),
            format!("  send a hard-coded host to roster: curl --cacert {ca} --connect-to open.feishu.cn:443:127.0.0.1:{port} https://open.feishu.cn/..."),
            "  or add `127.0.0.1 open.feishu.cn console.tim.qq.com qyapi.weixin.qq.com qwif.do1.com.cn` to /etc/hosts and listen on port 443".to_string(),
        ]
    }
}

struct Generated {
    cert: PathBuf,
    key: PathBuf,
    ca: PathBuf,
}

/// The certificate in `dir`, made the first time: a CA (whose key is then thrown away, so it
/// can sign nothing else) and a server certificate it signed for [`HOSTS`].
fn generate_once(dir: &Path) -> Result<Generated, TlsError> {
    let files = Generated {
        cert: dir.join("server.pem"),
        key: dir.join("server-key.pem"),
        ca: dir.join("ca.pem"),
    };
    if files.cert.exists() && files.key.exists() && files.ca.exists() {
        return Ok(files);
    }
    let now = time::OffsetDateTime::now_utc();
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "roster local CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = now - time::Duration::days(1);
    ca.not_after = now + time::Duration::days(10 * 365);
    let ca_key = KeyPair::generate()?;
    let ca = ca.self_signed(&ca_key)?;

    let mut server =
        CertificateParams::new(HOSTS.iter().map(|h| h.to_string()).collect::<Vec<_>>())?;
    server.distinguished_name.push(DnType::CommonName, "roster");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.not_before = now - time::Duration::days(1);
    // Within the 825 days some clients allow a server certificate.
    server.not_after = now + time::Duration::days(800);
    let server_key = KeyPair::generate()?;
    let server = server.signed_by(&server_key, &ca, &ca_key)?;

    let write = |path: &Path, text: &str, private: bool| -> Result<(), TlsError> {
        write_file(path, text.as_bytes(), private).map_err(|source| TlsError::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    fs::create_dir_all(dir).map_err(|source| TlsError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    write(&files.key, &server_key.serialize_pem(), true)?;
    write(&files.cert, &format!("{}{}", server.pem(), ca.pem()), false)?;
    write(&files.ca, &ca.pem(), false)?;
    tracing::info!("made a TLS certificate in {}", dir.display());
    Ok(files)
}

fn write_file(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    io::Write::write_all(&mut options.open(path)?, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = Tls::load(&TlsSource::Generated, dir.path()).unwrap();
        let ca = fs::read_to_string(first.ca.unwrap()).unwrap();
        let again = Tls::load(&TlsSource::Generated, dir.path()).unwrap();
        assert_eq!(fs::read_to_string(again.ca.unwrap()).unwrap(), ca);
        let own = TlsSource::Files {
            cert: dir.path().join("tls/server.pem"),
            key: dir.path().join("tls/ca.pem"),
        };
        assert!(matches!(
            Tls::load(&own, dir.path()),
            Err(TlsError::Pem { .. })
        ));
    }
}
