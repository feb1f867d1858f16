//! One registry, spoken to over HTTP(S): the `/v2/` API with Docker's token protocol and Basic
//! auth. Tokens are fetched once per scope and reused for the life of the client; a 401 with a new
//! challenge fetches a fresh one and retries once.
use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use ureq::http::{Response, StatusCode};
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::{Agent, Body};

use crate::credentials::Credentials;
use crate::error::RegistryError;
use crate::manifest::media_type;

/// How to reach a registry.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// When false, TLS certificates are not checked and plain HTTP is tried when HTTPS fails
    /// (`--tls-verify=false`, or `insecure = true` in registries.conf).
    pub insecure: bool,
    pub credentials: Option<Credentials>,
    /// PEM files of extra certificate authorities (`/etc/containers/certs.d/<registry>/*.crt`).
    pub ca_certificates: Vec<Vec<u8>>,
}

/// `registry/repository` as the registry's API names it (Docker Hub's `library/` added).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryRef {
    pub registry: String,
    pub repository: String,
}

impl std::fmt::Display for RepositoryRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)
    }
}

#[derive(Debug, Clone)]
enum Challenge {
    None,
    Basic,
    Bearer { realm: String, service: String },
}

#[derive(Debug, Default)]
struct Session {
    base: Option<String>,
    challenge: Option<Challenge>,
    tokens: HashMap<String, String>,
}

pub struct Client {
    registry: String,
    host: String,
    agent: Agent,
    options: ClientOptions,
    session: Mutex<Session>,
}

/// Bytes of a manifest and what the registry says it is.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    pub bytes: Vec<u8>,
    pub media_type: String,
    /// `sha256:` of the bytes exactly as served.
    pub digest: String,
}

const CHUNK: usize = 16 * 1024 * 1024;
const MANIFEST_LIMIT: u64 = 4 * 1024 * 1024;
const CONFIG_LIMIT: u64 = 64 * 1024 * 1024;

impl Client {
    pub fn new(registry: &str, options: ClientOptions) -> Result<Self, RegistryError> {
        let mut tls = TlsConfig::builder().disable_verification(options.insecure);
        if !options.ca_certificates.is_empty() {
            let mut certificates = Vec::new();
            for pem in &options.ca_certificates {
                let certificate = Certificate::from_pem(pem).map_err(|e| RegistryError::Tls {
                    registry: registry.to_string(),
                    detail: format!("bad CA certificate: {e}"),
                })?;
                certificates.push(certificate);
            }
            tls = tls.root_certs(RootCerts::new_with_certs(&certificates));
        }
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(tls.build())
            .timeout_connect(Some(Duration::from_secs(30)))
            .user_agent(concat!("skiff/", env!("CARGO_PKG_VERSION")))
            .max_idle_connections_per_host(8)
            .build()
            .into();
        let host = if registry == "docker.io" {
            "registry-1.docker.io".to_string()
        } else {
            registry.to_string()
        };
        Ok(Self {
            registry: registry.to_string(),
            host,
            agent,
            options,
            session: Mutex::new(Session::default()),
        })
    }

    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path the API uses: Docker Hub's official images live under `library/`.
    pub fn repository(&self, repository: &str) -> RepositoryRef {
        let repository = if self.registry == "docker.io" && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository.to_string()
        };
        RepositoryRef {
            registry: self.registry.clone(),
            repository,
        }
    }

    /// Checks that the registry answers and that the credentials (if any) are accepted: what
    /// `login` does before it stores them.
    pub fn check_login(&self) -> Result<(), RegistryError> {
        let base = self.base()?;
        let result = match self.challenge()? {
            Challenge::None => Ok(()),
            Challenge::Basic => {
                let response = self.send("GET", &format!("{base}/v2/"), &[], None, &[])?;
                self.expect_success(response, "login", None).map(drop)
            }
            Challenge::Bearer { .. } => self.token(&[]).map(drop),
        };
        result.map_err(|err| match err {
            RegistryError::Unauthorized { registry } => RegistryError::LoginFailed { registry },
            other => other,
        })
    }

    /// GET a manifest (or manifest list) by tag or digest. A digest reference is verified.
    pub fn manifest(
        &self,
        repository: &RepositoryRef,
        reference: &str,
    ) -> Result<FetchedManifest, RegistryError> {
        let url = self.url(repository, &format!("manifests/{reference}"))?;
        let scopes = [pull_scope(repository)];
        let response = self.send(
            "GET",
            &url,
            &[("Accept", media_type::ACCEPT)],
            None,
            &scopes,
        )?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(RegistryError::ManifestUnknown {
                repository: repository.to_string(),
                reference: reference.to_string(),
            });
        }
        let mut response = self.expect_success(response, "reading manifest", Some(repository))?;
        let content_type = header(&response, "content-type").unwrap_or_default();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(MANIFEST_LIMIT)
            .read_to_vec()
            .map_err(|e| self.transfer(e))?;
        let digest = sha256(&bytes);
        if reference.starts_with("sha256:") && digest != reference {
            return Err(RegistryError::DigestMismatch {
                what: format!("manifest {repository}@{reference}"),
                expected: reference.to_string(),
                actual: digest,
            });
        }
        let media_type = match content_type.split(';').next().map(str::trim) {
            Some(t) if !t.is_empty() && t != "application/json" && t != "text/plain" => {
                t.to_string()
            }
            _ => sniff_media_type(&bytes),
        };
        if media_type == media_type::DOCKER_SCHEMA1
            || media_type == "application/vnd.docker.distribution.manifest.v1+json"
        {
            return Err(RegistryError::InvalidManifest(format!(
                "{repository}:{reference} is a Docker schema 1 image, which skiff does not pull"
            )));
        }
        Ok(FetchedManifest {
            bytes,
            media_type,
            digest,
        })
    }

    /// A blob as a stream. The caller verifies the digest of what it reads.
    pub fn blob(
        &self,
        repository: &RepositoryRef,
        digest: &str,
    ) -> Result<Box<dyn Read + Send>, RegistryError> {
        let url = self.url(repository, &format!("blobs/{digest}"))?;
        let response = self.send("GET", &url, &[], None, &[pull_scope(repository)])?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(RegistryError::BlobUnknown {
                repository: repository.to_string(),
                digest: digest.to_string(),
            });
        }
        let response = self.expect_success(response, "reading blob", Some(repository))?;
        Ok(Box::new(response.into_body().into_reader()))
    }

    /// A small blob (an image config) read whole and verified.
    pub fn blob_bytes(
        &self,
        repository: &RepositoryRef,
        digest: &str,
    ) -> Result<Vec<u8>, RegistryError> {
        let mut bytes = Vec::new();
        self.blob(repository, digest)?
            .take(CONFIG_LIMIT)
            .read_to_end(&mut bytes)
            .map_err(|e| self.transfer(e))?;
        let actual = sha256(&bytes);
        if actual != digest {
            return Err(RegistryError::DigestMismatch {
                what: format!("blob {repository}@{digest}"),
                expected: digest.to_string(),
                actual,
            });
        }
        Ok(bytes)
    }

    pub fn blob_exists(
        &self,
        repository: &RepositoryRef,
        digest: &str,
    ) -> Result<bool, RegistryError> {
        let url = self.url(repository, &format!("blobs/{digest}"))?;
        let response = self.send("HEAD", &url, &[], None, &[push_scope(repository)])?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        self.expect_success(response, "checking blob", Some(repository))?;
        Ok(true)
    }

    /// Asks the registry to link a blob it already holds in another repository (cross-repository
    /// blob mount). False when the registry declined; the caller then uploads.
    pub fn mount_blob(
        &self,
        repository: &RepositoryRef,
        digest: &str,
        from: &str,
    ) -> Result<bool, RegistryError> {
        let url = self.url(
            repository,
            &format!("blobs/uploads/?mount={digest}&from={from}"),
        )?;
        let scopes = [push_scope(repository), format!("repository:{from}:pull")];
        let response = self.send("POST", &url, &[], Some(Vec::new()), &scopes)?;
        Ok(response.status() == StatusCode::CREATED)
    }

    /// Uploads a blob in chunks (POST, PATCH…, PUT ?digest=). `progress` hears bytes sent.
    pub fn upload_blob(
        &self,
        repository: &RepositoryRef,
        digest: &str,
        mut reader: impl Read,
        progress: &dyn Fn(u64),
    ) -> Result<(), RegistryError> {
        let base = self.base()?;
        let scopes = [push_scope(repository)];
        let start = self.send(
            "POST",
            &format!("{base}/v2/{}/blobs/uploads/", repository.repository),
            &[],
            Some(Vec::new()),
            &scopes,
        )?;
        let start = self.expect_success(start, "starting upload", Some(repository))?;
        let mut location = self.location(&start, &base)?;
        let mut offset = 0u64;
        let mut hasher = Sha256::new();
        loop {
            let mut chunk = Vec::with_capacity(CHUNK);
            (&mut reader)
                .take(CHUNK as u64)
                .read_to_end(&mut chunk)
                .map_err(|e| self.transfer(e))?;
            if chunk.is_empty() {
                break;
            }
            hasher.update(&chunk);
            let end = offset + chunk.len() as u64 - 1;
            let length = chunk.len();
            let range = format!("{offset}-{end}");
            let response = self.send(
                "PATCH",
                &location,
                &[
                    ("Content-Type", "application/octet-stream"),
                    ("Content-Range", &range),
                ],
                Some(chunk),
                &scopes,
            )?;
            let response = self.expect_success(response, "uploading blob", Some(repository))?;
            location = self.location(&response, &base)?;
            offset += length as u64;
            progress(offset);
        }
        let actual = format!("sha256:{:x}", hasher.finalize());
        if actual != digest {
            return Err(RegistryError::DigestMismatch {
                what: format!("upload of {digest}"),
                expected: digest.to_string(),
                actual,
            });
        }
        let separator = if location.contains('?') { '&' } else { '?' };
        let response = self.send(
            "PUT",
            &format!("{location}{separator}digest={digest}"),
            &[("Content-Type", "application/octet-stream")],
            Some(Vec::new()),
            &scopes,
        )?;
        self.expect_success(response, "finishing upload", Some(repository))?;
        Ok(())
    }

    /// PUTs a manifest under a tag (or digest); returns its digest.
    pub fn put_manifest(
        &self,
        repository: &RepositoryRef,
        reference: &str,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<String, RegistryError> {
        let digest = sha256(&bytes);
        let url = self.url(repository, &format!("manifests/{reference}"))?;
        let response = self.send(
            "PUT",
            &url,
            &[("Content-Type", media_type)],
            Some(bytes),
            &[push_scope(repository)],
        )?;
        self.expect_success(response, "writing manifest", Some(repository))?;
        Ok(digest)
    }

    /// Repository names from `/v2/_catalog` (what `search` looks through), page by page.
    pub fn catalog(&self) -> Result<Vec<String>, RegistryError> {
        self.paged_list(
            "/v2/_catalog?n=100",
            "repositories",
            &["registry:catalog:*".to_string()],
        )
    }

    /// Tags of a repository.
    pub fn tags(&self, repository: &RepositoryRef) -> Result<Vec<String>, RegistryError> {
        self.paged_list(
            &format!("/v2/{}/tags/list?n=100", repository.repository),
            "tags",
            &[pull_scope(repository)],
        )
    }

    /// Follows `Link: <…>; rel="next"` through a paginated list.
    fn paged_list(
        &self,
        first: &str,
        key: &str,
        scopes: &[String],
    ) -> Result<Vec<String>, RegistryError> {
        let base = self.base()?;
        let mut next = Some(first.to_string());
        let mut out = Vec::new();
        while let Some(path) = next.take() {
            let response = self.send("GET", &format!("{base}{path}"), &[], None, scopes)?;
            let mut response = self.expect_success(response, "listing", None)?;
            next = header(&response, "link").and_then(|link| {
                let (target, rel) = link.split_once(';')?;
                rel.contains("next").then(|| {
                    target
                        .trim()
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_string()
                })
            });
            let value = self.read_json(&mut response)?;
            out.extend(
                value
                    .get(key)
                    .and_then(|r| r.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.as_str().map(str::to_string)),
            );
        }
        Ok(out)
    }

    /// `BASE/v2/REPOSITORY/TAIL`.
    fn url(&self, repository: &RepositoryRef, tail: &str) -> Result<String, RegistryError> {
        Ok(format!(
            "{}/v2/{}/{tail}",
            self.base()?,
            repository.repository
        ))
    }

    /// `https://host` or, for an insecure registry that does not speak TLS, `http://host`;
    /// decided once by pinging `/v2/`, which also tells how the registry wants to be authed.
    fn base(&self) -> Result<String, RegistryError> {
        if let Some(base) = self.lock().base.clone() {
            return Ok(base);
        }
        let https = format!("https://{}", self.host);
        let (base, response) = match self.agent.get(format!("{https}/v2/")).call() {
            Ok(response) => (https, response),
            Err(err) if self.options.insecure => {
                let http = format!("http://{}", self.host);
                match self.agent.get(format!("{http}/v2/")).call() {
                    Ok(response) => (http, response),
                    Err(_) => return Err(self.connection_error(err)),
                }
            }
            Err(err) => return Err(self.connection_error(err)),
        };
        let challenge = if response.status() == StatusCode::UNAUTHORIZED {
            parse_challenge(&header(&response, "www-authenticate").unwrap_or_default())
        } else {
            Challenge::None
        };
        let mut session = self.lock();
        session.base = Some(base.clone());
        session.challenge = Some(challenge);
        Ok(base)
    }

    fn challenge(&self) -> Result<Challenge, RegistryError> {
        self.base()?;
        Ok(self.lock().challenge.clone().unwrap_or(Challenge::None))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The `Authorization` header for these scopes, fetching a token when the registry wants one.
    fn authorization(&self, scopes: &[String]) -> Result<Option<String>, RegistryError> {
        match self.challenge()? {
            Challenge::None => Ok(None),
            Challenge::Basic => Ok(self.options.credentials.as_ref().map(basic)),
            Challenge::Bearer { .. } => {
                let key = scopes.join(" ");
                if let Some(token) = self.lock().tokens.get(&key) {
                    return Ok(Some(format!("Bearer {token}")));
                }
                let token = self.token(scopes)?;
                self.lock().tokens.insert(key, token.clone());
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    /// Docker token protocol: GET realm?service=…&scope=…, with Basic credentials if we have them.
    fn token(&self, scopes: &[String]) -> Result<String, RegistryError> {
        let Challenge::Bearer { realm, service } = self.challenge()? else {
            return Err(RegistryError::Unauthorized {
                registry: self.registry.clone(),
            });
        };
        let mut request = self.agent.get(&realm).query("service", &service);
        for scope in scopes {
            request = request.query("scope", scope);
        }
        if let Some(credentials) = &self.options.credentials {
            request = request
                .query("account", &credentials.username)
                .header("Authorization", basic(credentials));
        }
        let mut response = request.call().map_err(|e| self.connection_error(e))?;
        if matches!(response.status().as_u16(), 401 | 403) {
            return Err(RegistryError::Unauthorized {
                registry: self.registry.clone(),
            });
        }
        if !response.status().is_success() {
            return Err(RegistryError::Status {
                registry: self.registry.clone(),
                what: format!("token from {realm}"),
                status: response.status().as_u16(),
                message: String::new(),
            });
        }
        let value = self.read_json(&mut response)?;
        value
            .get("token")
            .or_else(|| value.get("access_token"))
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .ok_or_else(|| RegistryError::Transfer {
                registry: self.registry.clone(),
                detail: format!("token server {realm} sent no token"),
            })
    }

    /// Sends a request with auth; on 401 learns the (new) challenge, refreshes the token, retries once.
    fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
        scopes: &[String],
    ) -> Result<Response<Body>, RegistryError> {
        let mut retried = false;
        loop {
            let authorization = self.authorization(scopes)?;
            let mut builder = ureq::http::Request::builder().method(method).uri(url);
            for (name, value) in headers {
                builder = builder.header(*name, *value);
            }
            if let Some(authorization) = authorization {
                builder = builder.header("Authorization", authorization);
            }
            let result = match &body {
                Some(bytes) => builder
                    .body(bytes.clone())
                    .map(|r| self.agent.run(r))
                    .map_err(|e| e.to_string()),
                None => builder
                    .body(())
                    .map(|r| self.agent.run(r))
                    .map_err(|e| e.to_string()),
            };
            let response = result
                .map_err(|detail| RegistryError::Transfer {
                    registry: self.registry.clone(),
                    detail,
                })?
                .map_err(|e| self.connection_error(e))?;
            if response.status() != StatusCode::UNAUTHORIZED || retried {
                return Ok(response);
            }
            retried = true;
            let challenge =
                parse_challenge(&header(&response, "www-authenticate").unwrap_or_default());
            if matches!(challenge, Challenge::None)
                || matches!(challenge, Challenge::Basic) && self.options.credentials.is_none()
            {
                return Ok(response);
            }
            let mut session = self.lock();
            session.challenge = Some(challenge);
            session.tokens.remove(&scopes.join(" "));
        }
    }

    fn expect_success(
        &self,
        mut response: Response<Body>,
        what: &str,
        repository: Option<&RepositoryRef>,
    ) -> Result<Response<Body>, RegistryError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        match status.as_u16() {
            401 => Err(RegistryError::Unauthorized {
                registry: self.registry.clone(),
            }),
            403 => Err(RegistryError::Denied {
                registry: self.registry.clone(),
                repository: repository.map(|r| r.repository.clone()).unwrap_or_default(),
            }),
            code => {
                let body = response
                    .body_mut()
                    .with_config()
                    .limit(64 * 1024)
                    .read_to_string()
                    .unwrap_or_default();
                Err(RegistryError::Status {
                    registry: self.registry.clone(),
                    what: what.to_string(),
                    status: code,
                    message: error_message(&body),
                })
            }
        }
    }

    fn location(&self, response: &Response<Body>, base: &str) -> Result<String, RegistryError> {
        let location = header(response, "location").ok_or_else(|| RegistryError::Transfer {
            registry: self.registry.clone(),
            detail: "upload response without a Location".into(),
        })?;
        Ok(
            if location.starts_with("http://") || location.starts_with("https://") {
                location
            } else {
                format!("{base}{location}")
            },
        )
    }

    fn connection_error(&self, error: ureq::Error) -> RegistryError {
        let registry = self.registry.clone();
        match error {
            ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => {
                RegistryError::Tls {
                    registry,
                    detail: error.to_string(),
                }
            }
            // ureq hands TLS failures during the handshake over as I/O errors wrapping rustls's.
            ureq::Error::Io(ref io)
                if io
                    .get_ref()
                    .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()) =>
            {
                RegistryError::Tls {
                    registry,
                    detail: error.to_string(),
                }
            }
            other => RegistryError::Unreachable {
                registry,
                detail: other.to_string(),
            },
        }
    }

    fn read_json(&self, response: &mut Response<Body>) -> Result<serde_json::Value, RegistryError> {
        let bytes = response
            .body_mut()
            .with_config()
            .limit(MANIFEST_LIMIT)
            .read_to_vec()
            .map_err(|e| self.transfer(e))?;
        serde_json::from_slice(&bytes).map_err(|e| self.transfer(format!("invalid JSON: {e}")))
    }

    fn transfer(&self, error: impl std::fmt::Display) -> RegistryError {
        RegistryError::Transfer {
            registry: self.registry.clone(),
            detail: error.to_string(),
        }
    }
}

fn pull_scope(repository: &RepositoryRef) -> String {
    format!("repository:{}:pull", repository.repository)
}

fn push_scope(repository: &RepositoryRef) -> String {
    format!("repository:{}:pull,push", repository.repository)
}

fn basic(credentials: &Credentials) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", credentials.username, credentials.password))
    )
}

fn header(response: &Response<Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `Bearer realm="https://auth",service="registry",scope="…"` or `Basic realm="…"`.
fn parse_challenge(header: &str) -> Challenge {
    let (scheme, parameters) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
    let mut values = HashMap::new();
    let mut rest = parameters;
    while let Some((key, after)) = rest.split_once('=') {
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remainder) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            }
        };
        values.insert(key, value.to_string());
        rest = remainder;
    }
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" => Challenge::Bearer {
            realm: values.remove("realm").unwrap_or_default(),
            service: values.remove("service").unwrap_or_default(),
        },
        "basic" => Challenge::Basic,
        _ => Challenge::None,
    }
}

/// `{"errors":[{"code":"…","message":"…"}]}` → `: CODE: message`.
fn error_message(body: &str) -> String {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
        return String::new();
    };
    let Some(errors) = value.get("errors").and_then(|e| e.as_array()) else {
        return String::new();
    };
    errors
        .iter()
        .map(|e| {
            format!(
                ": {}",
                e.get("message")
                    .and_then(|m| m.as_str())
                    .or_else(|| e.get("code").and_then(|c| c.as_str()))
                    .unwrap_or("unknown error")
            )
        })
        .collect()
}

/// Manifests served as plain JSON: the media type from the body, else by shape.
fn sniff_media_type(bytes: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    if let Some(t) = value.get("mediaType").and_then(|t| t.as_str()) {
        return t.to_string();
    }
    if value.get("manifests").is_some() {
        media_type::OCI_INDEX.to_string()
    } else if value.get("schemaVersion").and_then(|v| v.as_u64()) == Some(1) {
        media_type::DOCKER_SCHEMA1.to_string()
    } else {
        media_type::OCI_MANIFEST.to_string()
    }
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse_with_quoted_commas() {
        match parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        ) {
            Challenge::Bearer { realm, service } => {
                assert_eq!(realm, "https://auth.example/token");
                assert_eq!(service, "registry.example");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Challenge::Basic
        ));
        assert!(matches!(parse_challenge(""), Challenge::None));
    }

    #[test]
    fn registry_errors_are_summarised() {
        assert_eq!(
            error_message(
                r#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"#
            ),
            ": repository name not known to registry"
        );
        assert_eq!(error_message("<html>"), "");
    }
}
