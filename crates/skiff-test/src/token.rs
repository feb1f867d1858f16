//! A small bearer-token issuer for the test registry (Docker's token protocol): it checks Basic
//! credentials and answers with a JWT signed by an ES256 key whose self-signed certificate the
//! registry trusts (`rootcertbundle`), granting the scopes asked for. The key and certificate come
//! from the `openssl` command line.
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde_json::{Value, json};

pub const ISSUER: &str = "skiff-test-issuer";

pub struct TokenIssuer {
    pub address: String,
    pub certificate: PathBuf,
    stop: Arc<AtomicBool>,
}

impl TokenIssuer {
    pub fn start(dir: &Path, user: &str, password: &str) -> Self {
        let key_pem = dir.join("token-key.pem");
        let certificate = dir.join("token-cert.pem");
        let key_der = dir.join("token-key.der");
        let cert_der = dir.join("token-cert.der");
        run(Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ])
            .args([
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=skiff-test-token",
                "-keyout",
            ])
            .arg(&key_pem)
            .arg("-out")
            .arg(&certificate));
        run(Command::new("openssl")
            .args(["pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in"])
            .arg(&key_pem)
            .arg("-out")
            .arg(&key_der));
        run(Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&certificate)
            .arg("-out")
            .arg(&cert_der));
        let key = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &std::fs::read(&key_der).expect("read key"),
            &SystemRandom::new(),
        )
        .expect("load the token key");
        let chain = STANDARD.encode(std::fs::read(&cert_der).expect("read certificate"));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the token issuer");
        let address = listener.local_addr().expect("address").to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let expected = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
        let user = user.to_string();
        let stopping = stop.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    return;
                }
                if let Ok(stream) = stream {
                    let _ = answer(stream, &key, &chain, &expected, &user);
                }
            }
        });
        TokenIssuer {
            address,
            certificate,
            stop,
        }
    }
}

impl Drop for TokenIssuer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(&self.address);
    }
}

fn run(command: &mut Command) {
    let output = command.output().expect("run openssl");
    assert!(
        output.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn answer(
    stream: TcpStream,
    key: &EcdsaKeyPair,
    chain: &str,
    expected_authorization: &str,
    user: &str,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut authorized = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("authorization")
            && value.trim() == expected_authorization
        {
            authorized = true;
        }
    }
    let target = request_line.split(' ').nth(1).unwrap_or("");
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let mut service = String::new();
    let mut access = Vec::new();
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        match name {
            "service" => service = value,
            "scope" => {
                let mut parts = value.splitn(3, ':');
                if let (Some(kind), Some(name), Some(actions)) =
                    (parts.next(), parts.next(), parts.next())
                {
                    access.push(json!({
                        "type": kind,
                        "name": name,
                        "actions": actions.split(',').collect::<Vec<_>>(),
                    }));
                }
            }
            _ => {}
        }
    }
    let mut stream = stream;
    if !authorized {
        let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#;
        return write!(
            stream,
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let header = json!({"typ": "JWT", "alg": "ES256", "x5c": [chain]});
    let claims = json!({
        "iss": ISSUER,
        "sub": user,
        "aud": service,
        "exp": now + 600,
        "nbf": now - 60,
        "iat": now,
        "jti": format!("{now}-{}", std::process::id()),
        "access": Value::Array(access),
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key
        .sign(&SystemRandom::new(), signing_input.as_bytes())
        .map_err(|_| std::io::Error::other("signing failed"))?;
    let token = format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    );
    let body = json!({"token": token, "access_token": token, "expires_in": 600}).to_string();
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
