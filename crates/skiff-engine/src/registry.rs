//! Registry actions: pull, push, login, logout, search, remote manifest inspection. This is where
//! the user's configuration (registries.conf, auth.json, certs.d, --tls-verify) turns into a
//! registry client; the transfers themselves live in skiff-image.
use std::path::{Path, PathBuf};

use skiff_image::{ManifestFormat, Reference, TransferEvent};
use skiff_registry::{
    AuthFile, Client, ClientOptions, Credentials, Platform, RegistriesConf, RegistryError,
    ShortName, parse_platform, registry_of_key,
};

use crate::engine::Engine;
use crate::environment::{self, var};
use crate::error::EngineError;
use crate::image::ImageReport;

/// How to reach registries, from the flags Podman's registry commands share.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// `--tls-verify`; None follows registries.conf (`insecure`), else verifies.
    pub tls_verify: Option<bool>,
    /// `--authfile`.
    pub authfile: Option<PathBuf>,
    /// `--creds user:password` (instead of stored credentials).
    pub credentials: Option<Credentials>,
    /// `--cert-dir`: a directory of *.crt CA files.
    pub cert_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    pub registry: RegistryOptions,
    /// `--platform os/arch[/variant]`; default this machine's.
    pub platform: Option<String>,
}

impl PullOptions {
    /// `--platform`, or Podman's `--os`, `--arch` and `--variant` (this machine's OS and
    /// architecture where one is not given), as one `os/arch[/variant]`.
    pub fn platform_of(
        platform: Option<&str>,
        os: Option<&str>,
        arch: Option<&str>,
        variant: Option<&str>,
    ) -> Result<Option<String>, EngineError> {
        if platform.is_some() && (os.is_some() || arch.is_some()) {
            return Err(EngineError::InvalidArgument(
                "--platform option can not be specified with --arch or --os".into(),
            ));
        }
        if platform.is_some() || (os.is_none() && arch.is_none() && variant.is_none()) {
            return Ok(platform.map(str::to_string));
        }
        let os = os.unwrap_or("linux");
        let arch = arch.unwrap_or(skiff_image::oci_architecture());
        Ok(Some(match variant {
            Some(variant) => format!("{os}/{arch}/{variant}"),
            None => format!("{os}/{arch}"),
        }))
    }
}

#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    pub registry: RegistryOptions,
    /// `--format oci|v2s2`; None keeps the image's own.
    pub format: Option<String>,
}

/// `--pull` policies of run, create and build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PullPolicy {
    Always,
    Missing,
    Never,
    Newer,
}

impl PullPolicy {
    pub fn parse(value: &str) -> Result<Self, EngineError> {
        match value {
            "always" | "true" => Ok(PullPolicy::Always),
            "missing" => Ok(PullPolicy::Missing),
            "never" | "false" => Ok(PullPolicy::Never),
            "newer" => Ok(PullPolicy::Newer),
            other => Err(EngineError::InvalidArgument(format!(
                "invalid pull policy {other:?} (expected always, missing, never or newer)"
            ))),
        }
    }
}

impl Engine {
    /// `pull`: fetches an image (trying each search registry for a short name) and names it.
    pub fn pull_image(
        &mut self,
        name: &str,
        options: &PullOptions,
        progress: &(dyn Fn(TransferEvent) + Sync),
    ) -> Result<ImageReport, EngineError> {
        if let Some(location) = crate::copy::Location::with_transport(name) {
            return self.fetch(&location?, options, progress);
        }
        let platform = match &options.platform {
            Some(p) => parse_platform(p).map_err(skiff_image::ImageError::from)?,
            None => Platform {
                os: "linux".into(),
                architecture: skiff_image::oci_architecture().into(),
                variant: None,
            },
        };
        let conf = self.registries_conf()?;
        let mut last_error = None;
        for candidate in candidates(&conf, name)? {
            // Mirrors first (registries.conf), then the registry itself.
            let mut sources = mirrors(&conf, &candidate);
            sources.push((candidate.clone(), None));
            for (source, mirror_insecure) in sources {
                crate::debug!("Trying to pull {}", source.normalized());
                let result = (|| {
                    let mut registry_options = options.registry.clone();
                    if mirror_insecure == Some(true) && registry_options.tls_verify.is_none() {
                        registry_options.tls_verify = Some(false);
                    }
                    let client = self.client(&conf, &source, &registry_options)?;
                    Ok::<_, EngineError>(
                        self.images
                            .pull(&client, &source, &candidate, &platform, progress)?,
                    )
                })();
                match result {
                    Ok(image) => {
                        self.emit_image("pull", &image.id, name);
                        let containers = self.containers.users_of_image(&image.id)?.len();
                        return Ok(ImageReport { image, containers });
                    }
                    Err(err) => last_error = Some(err),
                }
            }
        }
        Err(last_error.unwrap_or_else(|| {
            EngineError::InvalidArgument(format!("{name}: no registry to pull from"))
        }))
    }

    /// The ID of image `name` for run/create under a pull policy: local when allowed, else
    /// pulled. On the run path: the local case is one lookup, nothing more.
    pub fn image_for_run(
        &mut self,
        name: &str,
        policy: PullPolicy,
        options: &PullOptions,
        progress: &(dyn Fn(TransferEvent) + Sync),
    ) -> Result<String, EngineError> {
        // A malformed --platform is refused whether or not a pull happens.
        if let Some(platform) = &options.platform {
            parse_platform(platform).map_err(skiff_image::ImageError::from)?;
        }
        // An archive or layout is read whatever the policy, as Podman does.
        if let Some(location) = crate::copy::Location::with_transport(name) {
            return Ok(self.fetch(&location?, options, progress)?.id().to_string());
        }
        let local = || -> Result<String, EngineError> { Ok(self.images.resolve(name)?.id) };
        let pulled = |engine: &mut Self| -> Result<String, EngineError> {
            Ok(engine.pull_image(name, options, progress)?.id().to_string())
        };
        match policy {
            PullPolicy::Never => local(),
            PullPolicy::Missing => match local() {
                Err(err) if err.is_no_such_image() => pulled(self),
                other => other,
            },
            // Whatever the registry has now (a pull of an unchanged image fetches no layer);
            // the local image when the registry cannot be asked.
            PullPolicy::Newer => match local() {
                Ok(id) => Ok(pulled(self).unwrap_or(id)),
                Err(err) if err.is_no_such_image() => pulled(self),
                Err(err) => Err(err),
            },
            PullPolicy::Always => pulled(self),
        }
    }

    /// `push SOURCE [DESTINATION]`: returns the digest of the pushed manifest.
    pub fn push_image(
        &self,
        source: &str,
        destination: Option<&str>,
        options: &PushOptions,
        progress: &(dyn Fn(TransferEvent) + Sync),
    ) -> Result<String, EngineError> {
        let image = self.images.resolve(source)?;
        let destination = destination.unwrap_or(source);
        let destination = destination.strip_prefix("docker://").unwrap_or(destination);
        let reference = Reference::parse(destination).map_err(skiff_image::ImageError::from)?;
        if reference.registry.is_none() || reference.registry.as_deref() == Some("localhost") {
            return Err(EngineError::InvalidArgument(format!(
                "{destination}: name a registry to push to, e.g. 127.0.0.1:5000/{}",
                reference.repository
            )));
        }
        let format = options
            .format
            .as_deref()
            .map(ManifestFormat::parse)
            .transpose()?;
        let conf = self.registries_conf()?;
        let client = self.client(&conf, &reference, &options.registry)?;
        let digest = self
            .images
            .push(&image, &client, &reference, format, progress)?;
        self.emit_image("push", &image.id, destination);
        Ok(digest)
    }

    /// `login`: checks the credentials against the registry, then stores them.
    pub fn login(
        &self,
        registry: &str,
        credentials: Credentials,
        options: &RegistryOptions,
    ) -> Result<(), EngineError> {
        let registry = registry_of_key(registry);
        let conf = self.registries_conf()?;
        let mut options = options.clone();
        options.credentials = Some(credentials.clone());
        let client = self.client_for(&conf, registry, "", &options)?;
        client
            .check_login()
            .map_err(skiff_image::ImageError::from)?;
        self.auth_file(&options)
            .set(registry, &credentials)
            .map_err(skiff_image::ImageError::from)?;
        Ok(())
    }

    /// `logout REGISTRY` (false when no credentials were stored) or `logout --all`.
    pub fn logout(
        &self,
        registry: Option<&str>,
        options: &RegistryOptions,
    ) -> Result<bool, EngineError> {
        let file = self.auth_file(options);
        let result = match registry {
            Some(registry) => file.remove(registry_of_key(registry)),
            None => file.clear().map(|()| true),
        };
        Ok(result.map_err(skiff_image::ImageError::from)?)
    }

    /// `login --get-login REGISTRY`: the user name stored for a registry.
    pub fn stored_login(
        &self,
        registry: &str,
        options: &RegistryOptions,
    ) -> Result<Option<String>, EngineError> {
        let credentials = self
            .auth_file(options)
            .get(registry_of_key(registry))
            .map_err(skiff_image::ImageError::from)?;
        Ok(credentials.map(|c| c.username))
    }

    /// `search --list-tags REGISTRY/REPOSITORY`: the repository's tags.
    pub fn list_tags(
        &self,
        name: &str,
        options: &RegistryOptions,
    ) -> Result<Vec<String>, EngineError> {
        let conf = self.registries_conf()?;
        let reference = first_candidate(&conf, name)?;
        if reference.tag.is_some() || reference.digest.is_some() {
            return Err(EngineError::InvalidArgument(format!(
                "{name}: --list-tags takes a repository without a tag or digest"
            )));
        }
        let client = self.client(&conf, &reference, options)?;
        let repository = client.repository(&reference.repository);
        Ok(client
            .tags(&repository)
            .map_err(skiff_image::ImageError::from)?)
    }

    /// `search [REGISTRY/]TERM`: repositories whose name contains TERM, from each registry's
    /// catalog. Returns full names.
    pub fn search(
        &self,
        term: &str,
        options: &RegistryOptions,
    ) -> Result<Vec<String>, EngineError> {
        let conf = self.registries_conf()?;
        let (registries, term) = match term.split_once('/') {
            Some((registry, rest)) if registry.contains(['.', ':']) || registry == "localhost" => {
                (vec![registry.to_string()], rest.to_string())
            }
            _ => (conf.search.clone(), term.to_string()),
        };
        if registries.is_empty() {
            return Err(skiff_image::ImageError::from(RegistryError::ShortName {
                name: term,
                path: conf.path.display().to_string(),
            })
            .into());
        }
        let mut found = Vec::new();
        for registry in registries {
            let client = self.client_for(&conf, &registry, "", options)?;
            let catalog = client.catalog().map_err(skiff_image::ImageError::from)?;
            found.extend(
                catalog
                    .into_iter()
                    .filter(|repository| repository.contains(&term))
                    .map(|repository| format!("{registry}/{repository}")),
            );
        }
        Ok(found)
    }

    /// `manifest inspect REF`: the manifest (or list) as the registry serves it.
    pub fn remote_manifest(
        &self,
        name: &str,
        options: &RegistryOptions,
    ) -> Result<Vec<u8>, EngineError> {
        let conf = self.registries_conf()?;
        let reference = first_candidate(&conf, name)?;
        let client = self.client(&conf, &reference, options)?;
        let repository = client.repository(&reference.repository);
        let tag = reference.tag_or_digest();
        Ok(client
            .manifest(&repository, tag)
            .map_err(skiff_image::ImageError::from)?
            .bytes)
    }

    fn client(
        &self,
        conf: &RegistriesConf,
        reference: &Reference,
        options: &RegistryOptions,
    ) -> Result<Client, EngineError> {
        let registry = reference.registry.clone().unwrap_or_default();
        self.client_for(conf, &registry, &reference.repository, options)
    }

    fn client_for(
        &self,
        conf: &RegistriesConf,
        registry: &str,
        repository: &str,
        options: &RegistryOptions,
    ) -> Result<Client, EngineError> {
        let entry = conf.entry(registry, repository);
        if entry.is_some_and(|e| e.blocked) {
            return Err(skiff_image::ImageError::from(RegistryError::Blocked(
                registry.to_string(),
            ))
            .into());
        }
        let insecure = match options.tls_verify {
            Some(verify) => !verify,
            None => entry.is_some_and(|e| e.insecure),
        };
        let credentials = match &options.credentials {
            Some(credentials) => Some(credentials.clone()),
            None => self
                .auth_file(options)
                .get(registry)
                .map_err(skiff_image::ImageError::from)?,
        };
        let client_options = ClientOptions {
            insecure,
            credentials,
            ca_certificates: self.ca_certificates(registry, options.cert_dir.as_deref()),
        };
        Ok(Client::new(registry, client_options).map_err(skiff_image::ImageError::from)?)
    }

    /// `--authfile`, $REGISTRY_AUTH_FILE, else Podman's per-user file; Docker's config.json and
    /// ~/.config/containers/auth.json are read after it.
    fn auth_file(&self, options: &RegistryOptions) -> AuthFile {
        let home = var(environment::HOME).map(PathBuf::from);
        let config_home = var(environment::XDG_CONFIG_HOME)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".config")));
        let path = options
            .authfile
            .clone()
            .or_else(|| var(environment::REGISTRY_AUTH_FILE).map(PathBuf::from))
            .unwrap_or_else(|| {
                if self.options.rootless {
                    var(environment::XDG_RUNTIME_DIR)
                        .map(|d| PathBuf::from(d).join("containers/auth.json"))
                        .or_else(|| config_home.clone().map(|c| c.join("containers/auth.json")))
                        .unwrap_or_else(|| PathBuf::from("/tmp/skiff-auth.json"))
                } else {
                    PathBuf::from("/run/containers/0/auth.json")
                }
            });
        let mut fallbacks = Vec::new();
        if options.authfile.is_none() && var(environment::REGISTRY_AUTH_FILE).is_none() {
            if let Some(config) = &config_home {
                fallbacks.push(config.join("containers/auth.json"));
            }
            match var(environment::DOCKER_CONFIG) {
                Some(dir) => fallbacks.push(PathBuf::from(dir).join("config.json")),
                None => fallbacks.extend(home.map(|h| h.join(".docker/config.json"))),
            }
        }
        fallbacks.retain(|f| *f != path);
        AuthFile { path, fallbacks }
    }

    /// $CONTAINERS_REGISTRIES_CONF, else the user's own file, else the system's; drop-ins from
    /// /etc/containers/registries.conf.d.
    pub(crate) fn registries_conf(&self) -> Result<RegistriesConf, EngineError> {
        let system = PathBuf::from("/etc/containers/registries.conf");
        let main = var(environment::CONTAINERS_REGISTRIES_CONF)
            .map(PathBuf::from)
            .or_else(|| {
                let user = var(environment::XDG_CONFIG_HOME)
                    .map(PathBuf::from)
                    .or_else(|| var(environment::HOME).map(|h| PathBuf::from(h).join(".config")))?
                    .join("containers/registries.conf");
                (self.options.rootless && user.exists()).then_some(user)
            })
            .unwrap_or(system);
        let drop_ins = if var(environment::CONTAINERS_REGISTRIES_CONF).is_some() {
            PathBuf::new()
        } else {
            PathBuf::from("/etc/containers/registries.conf.d")
        };
        crate::trace!(
            "Reading configuration file {:?}",
            main.display().to_string()
        );
        let conf = RegistriesConf::load(&main, &drop_ins).map_err(skiff_image::ImageError::from)?;
        crate::debug!(
            "Loaded registries configuration {:?}",
            main.display().to_string()
        );
        Ok(conf)
    }

    /// PEM files from `--cert-dir`, else `certs.d/<registry>/` in the places Podman and Docker
    /// look.
    fn ca_certificates(&self, registry: &str, cert_dir: Option<&Path>) -> Vec<Vec<u8>> {
        let dirs: Vec<PathBuf> = match cert_dir {
            Some(dir) => vec![dir.to_path_buf()],
            None => {
                let mut dirs = Vec::new();
                if self.options.rootless
                    && let Some(home) = var(environment::HOME)
                {
                    dirs.push(
                        PathBuf::from(home)
                            .join(".config/containers/certs.d")
                            .join(registry),
                    );
                }
                dirs.push(PathBuf::from("/etc/containers/certs.d").join(registry));
                dirs.push(PathBuf::from("/etc/docker/certs.d").join(registry));
                dirs
            }
        };
        let mut certificates = Vec::new();
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "crt")
                    && let Ok(pem) = std::fs::read(&path)
                {
                    certificates.push(pem);
                }
            }
        }
        certificates
    }
}

/// Full references to try for `name`: itself when it names a registry, else the alias or each
/// search registry (registries.conf). `docker://` is accepted as Podman does.
fn candidates(conf: &RegistriesConf, name: &str) -> Result<Vec<Reference>, EngineError> {
    let name = name.strip_prefix("docker://").unwrap_or(name);
    let reference = Reference::parse(name).map_err(skiff_image::ImageError::from)?;
    if reference.registry.is_some() {
        return Ok(vec![reference]);
    }
    let expanded = match conf
        .resolve_short_name(name)
        .map_err(skiff_image::ImageError::from)?
    {
        ShortName::Alias(full) => vec![full],
        ShortName::Candidates(list) => list,
    };
    expanded
        .iter()
        .map(|full| {
            Reference::parse(full)
                .map_err(skiff_image::ImageError::from)
                .map_err(EngineError::from)
        })
        .collect()
}

/// The `[[registry.mirror]]` locations for a reference, as references to pull from, each with
/// its own `insecure` setting.
fn mirrors(conf: &RegistriesConf, reference: &Reference) -> Vec<(Reference, Option<bool>)> {
    let registry = reference.registry.clone().unwrap_or_default();
    let Some(entry) = conf.entry(&registry, &reference.repository) else {
        return Vec::new();
    };
    let location = entry.location.trim_end_matches('/');
    let full = reference.normalized();
    entry
        .mirror
        .iter()
        .filter_map(|mirror| {
            let rest = full.strip_prefix(location)?;
            let mirrored = format!("{}{rest}", mirror.location.trim_end_matches('/'));
            Reference::parse(&mirrored)
                .ok()
                .map(|r| (r, Some(mirror.insecure)))
        })
        .collect()
}

/// The one reference a command that reads a single image (`manifest inspect`, `--list-tags`)
/// asks for: the name itself, or its first expansion.
fn first_candidate(conf: &RegistriesConf, name: &str) -> Result<Reference, EngineError> {
    candidates(conf, name)?
        .into_iter()
        .next()
        .ok_or_else(|| EngineError::InvalidArgument(format!("{name}: no registry")))
}
