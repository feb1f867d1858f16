//! The services' images: built from a service's `build` section through skiff-build,
//! pulled and pushed as `docker compose build|pull|push` do, and which of them `up` must
//! build or pull first.
use std::path::PathBuf;

use skiff_build::BuildRequest;
use skiff_engine::{Engine, EngineError, PullOptions, PullPolicy, PushOptions, TransferEvent};

use crate::project::Project;

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::InvalidArgument(message.into())
}

/// `compose build` flags (`up --build` builds with the defaults).
#[derive(Debug, Clone, Default)]
pub struct BuildFlags {
    /// `--no-cache`: every step runs again.
    pub no_cache: bool,
    /// `--pull`: base images are pulled even when they are here.
    pub pull: bool,
    /// `-q`: no step output.
    pub quiet: bool,
}

/// A service's pull policy (`pull_policy`), with `build` apart: that one builds every time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImagePolicy {
    Pull(PullPolicy),
    Build,
}

impl Project {
    /// The services that have a `build` section, in the file's order (only `wanted`, when given).
    pub fn built_services(&self, wanted: &[String]) -> Result<Vec<String>, EngineError> {
        Ok(self
            .selected(wanted)?
            .filter(|(_, s)| s.build.is_some())
            .map(|(name, _)| name.clone())
            .collect())
    }

    /// Refuses services the project does not define.
    pub fn check_services(&self, services: &[String]) -> Result<(), EngineError> {
        match services
            .iter()
            .find(|s| !self.file.services.contains_key(*s))
        {
            Some(unknown) => Err(invalid(format!("no such service: {unknown}"))),
            None => Ok(()),
        }
    }

    /// The service's `pull_policy`.
    pub fn image_policy(&self, service: &str) -> Result<ImagePolicy, EngineError> {
        let policy = self
            .file
            .services
            .get(service)
            .and_then(|s| s.pull_policy.clone());
        match policy.as_deref() {
            None | Some("missing" | "if_not_present") => Ok(ImagePolicy::Pull(PullPolicy::Missing)),
            Some("build") => Ok(ImagePolicy::Build),
            Some("daily" | "weekly") => Ok(ImagePolicy::Pull(PullPolicy::Newer)),
            Some(other) => PullPolicy::parse(other).map(ImagePolicy::Pull).map_err(|_| {
                invalid(format!(
                    "service {service:?}: pull_policy {other:?}: expected always, never, missing, if_not_present or build"
                ))
            }),
        }
    }

    /// Builds a service's image (tagged with its image name and its `build.tags`); returns
    /// the image's ID. Progress goes to `out`.
    pub fn build_service(
        &self,
        engine: &mut Engine,
        service: &str,
        flags: &BuildFlags,
        out: &mut dyn std::io::Write,
    ) -> Result<String, EngineError> {
        let definition = &self.file.services[service];
        let build = definition
            .build
            .as_ref()
            .ok_or_else(|| invalid(format!("service {service:?} has no build section")))?
            .long();
        let context = self.directory.join(build.context.as_deref().unwrap_or("."));
        if !context.is_dir() {
            return Err(invalid(format!(
                "service {service:?}: build context {} is not a directory",
                context.display()
            )));
        }
        // An inline Containerfile is written beside the engine's run state for the build.
        let inline = match &build.dockerfile_inline {
            Some(text) => {
                let dir = engine.runroot().join("compose-builds");
                let path = dir.join(format!("{}-{service}.Containerfile", self.name));
                std::fs::create_dir_all(&dir)
                    .and_then(|()| std::fs::write(&path, text))
                    .map_err(|source| EngineError::Io {
                        action: "writing",
                        path: path.clone(),
                        source,
                    })?;
                Some(path)
            }
            None => None,
        };
        let mut tags: Vec<String> = self.image_name(service).into_iter().collect();
        tags.extend(build.tags.iter().cloned());
        let request = BuildRequest {
            context,
            file: inline
                .clone()
                .or_else(|| build.dockerfile.as_ref().map(PathBuf::from)),
            tags,
            build_args: skiff_build::build_args(build.args.pairs()),
            target: build.target.clone(),
            labels: build
                .labels
                .pairs()
                .into_iter()
                .map(|(k, v)| (k, v.unwrap_or_default()))
                .collect(),
            no_cache: flags.no_cache || build.no_cache,
            pull: (flags.pull || build.pull).then_some(PullPolicy::Always),
            quiet: flags.quiet,
            network: build.network.clone(),
            ..Default::default()
        };
        let result = request.run(engine, out);
        if let Some(path) = inline {
            let _ = std::fs::remove_file(path);
        }
        result
    }

    /// Makes sure a service's image is here as `up` and `create` need it: built when its
    /// policy says build, when `build` is asked, or when a service with a build section
    /// lacks its image; pulled under its pull policy otherwise. Returns the image's ID.
    pub fn prepare_image(
        &self,
        engine: &mut Engine,
        service: &str,
        build: bool,
        out: &mut dyn std::io::Write,
        progress: &(dyn Fn(TransferEvent) + Sync),
    ) -> Result<String, EngineError> {
        let image = self
            .image_name(service)
            .ok_or_else(|| invalid(format!("service {service:?} has neither an image nor a build context specified: invalid compose project")))?;
        let buildable = self.file.services[service].build.is_some();
        let policy = self.image_policy(service)?;
        if buildable && (build || policy == ImagePolicy::Build || engine.image(&image).is_err()) {
            return self.build_service(engine, service, &BuildFlags::default(), out);
        }
        // `pull_policy: build` without a build section: as a create would, here or pulled.
        let policy = match policy {
            ImagePolicy::Pull(policy) => policy,
            ImagePolicy::Build => PullPolicy::Missing,
        };
        engine.image_for_run(&image, policy, &self.pull_options(service), progress)
    }

    fn pull_options(&self, service: &str) -> PullOptions {
        PullOptions {
            platform: self.file.services[service].platform.clone(),
            ..Default::default()
        }
    }

    /// The services named (all when none is), refusing names the project lacks.
    fn selected<'a>(
        &'a self,
        services: &'a [String],
    ) -> Result<impl Iterator<Item = (&'a String, &'a crate::model::Service)>, EngineError> {
        self.check_services(services)?;
        Ok(self
            .file
            .services
            .iter()
            .filter(move |(name, _)| services.is_empty() || services.contains(name)))
    }

    /// `compose pull`: the services' images that come from a registry; a service that
    /// builds its image is skipped, as docker compose does.
    pub fn pull(
        &self,
        engine: &mut Engine,
        services: &[String],
        ignore_failures: bool,
        progress: &(dyn Fn(TransferEvent) + Sync),
        report: &dyn Fn(&str),
    ) -> Result<(), EngineError> {
        for (name, service) in self.selected(services)? {
            let Some(image) = &service.image else {
                continue;
            };
            if service.build.is_some()
                || self.image_policy(name)? == ImagePolicy::Pull(PullPolicy::Never)
            {
                report(&format!("{name} Skipped"));
                continue;
            }
            match engine.pull_image(image, &self.pull_options(name), progress) {
                Ok(_) => report(&format!("{name} Pulled")),
                Err(err) if ignore_failures => report(&format!("{name} Error {err}")),
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }

    /// `compose push`: the images of services that name one and build it.
    pub fn push(
        &self,
        engine: &Engine,
        services: &[String],
        options: &PushOptions,
        progress: &(dyn Fn(TransferEvent) + Sync),
        report: &dyn Fn(&str),
    ) -> Result<(), EngineError> {
        for (name, service) in self.selected(services)? {
            let (Some(image), Some(_)) = (&service.image, &service.build) else {
                continue;
            };
            engine.push_image(image, None, options, progress)?;
            report(&format!("{name} Pushed"));
        }
        Ok(())
    }
}
