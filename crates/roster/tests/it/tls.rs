//! `roster serve --tls`, run as a user would, and clients that hard-code the vendors' HTTPS
//! hosts sent to it (curl's `--connect-to`, as a hosts-file entry would).

use std::io::{BufRead, BufReader, Lines};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use serde_json::Value;

/// A `roster serve` process; its banner lines and port.
struct Served {
    child: Child,
    /// Kept open: roster prints more than the banner read here.
    _stdout: Lines<BufReader<ChildStdout>>,
    banner: Vec<String>,
    port: u16,
}

impl Served {
    fn start(data: &Path, tls: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(["serve", "--listen", "127.0.0.1:0", "--admin-token", "t"])
            .arg("--data")
            .arg(data)
            .args(tls)
            .env("ROSTER_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("run roster");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let url = first
            .strip_prefix("roster listening on https://")
            .unwrap_or_else(|| panic!("not HTTPS: {first}"));
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        let banner = lines.by_ref().take(5).map(Result::unwrap).collect();
        Served {
            child,
            _stdout: lines,
            banner,
            port,
        }
    }

    /// curl to `https://{host}{path}` with the host sent to roster, trusting `ca`.
    fn curl(&self, ca: &Path, host: &str, path: &str, body: Option<&str>) -> Value {
        let mut command = Command::new("curl");
        command
            .args(["--silent", "--show-error", "--cacert"])
            .arg(ca)
            .arg("--connect-to")
            .arg(format!("{host}:443:127.0.0.1:{}", self.port))
            .arg(format!("https://{host}{path}"));
        if let Some(body) = body {
            command.args(["-H", "Content-Type: application/json", "--data", body]);
        }
        let output = command.output().expect("run curl");
        assert!(output.status.success(), "{host}{path}: {output:?}");
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn vendor_hosts_reach_roster_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path(), &["--tls"]);
    let ca = dir.path().join("tls/ca.pem");
    let banner = served.banner.join("\n");
    for needed in [
        "SSL_CERT_FILE=",
        "REQUESTS_CA_BUNDLE=",
        "NODE_EXTRA_CA_CERTS=",
        "--connect-to",
        "/etc/hosts",
    ] {
        assert!(banner.contains(needed), "{needed} missing from:\n{banner}");
    }
    let token = served.curl(
        &ca,
        "open.feishu.cn",
        "/open-apis/auth/v3/tenant_access_token/internal",
        Some(r#"{"app_id": "cli_demo00000000001", "app_secret": "demo-app-secret"}"#),
    );
    assert_eq!(token["code"], 0, "{token}");
    let tim = served.curl(
        &ca,
        "adminapisgp.im.qcloud.com",
        "/v4/follow/follow_add",
        Some("{}"),
    );
    assert_eq!(tim["ErrorCode"], 60012, "no sdkappid: {tim}");
    let wecom = served.curl(
        &ca,
        "qyapi.weixin.qq.com",
        "/cgi-bin/gettoken?corpid=wwroster00demo01&corpsecret=roster-demo-wecom-secret",
        None,
    );
    assert_eq!(wecom["errcode"], 0, "{wecom}");
    let do1 = served.curl(&ca, "qwif.do1.com.cn", "/qwcgi/api/tag/searchTag.do", None);
    assert_eq!(do1["code"], "41001", "no token: {do1}");
    // roster's own subcommands talk HTTPS too, trusting SSL_CERT_FILE.
    let output = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["feishu", "login-code", "--admin-token", "t"])
        .args(["--app-id", "cli_demo00000000001", "--user-id", "alice"])
        .args(["--code-challenge", &"c".repeat(43)])
        .arg("--url")
        .arg(format!("https://localhost:{}", served.port))
        .env("SSL_CERT_FILE", &ca)
        .output()
        .expect("run roster");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8(output.stdout).unwrap().trim().len(), 32);
    drop(served);

    // Made once: a restart serves the same certificate.
    let before = std::fs::read(&ca).unwrap();
    let again = Served::start(dir.path(), &["--tls"]);
    assert_eq!(std::fs::read(&ca).unwrap(), before);
    let health = again.curl(&ca, "localhost", "/healthz", None);
    assert_eq!(health["status"], "ok");
    drop(again);

    // The user's own certificate and key.
    let own = tempfile::tempdir().unwrap();
    let (cert, key) = (
        dir.path().join("tls/server.pem"),
        dir.path().join("tls/server-key.pem"),
    );
    let served = Served::start(
        own.path(),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(!own.path().join("tls").exists(), "no certificate is made");
    let health = served.curl(&ca, "console.tim.qq.com", "/healthz", None);
    assert_eq!(health["status"], "ok");
}
