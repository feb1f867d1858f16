//! Runs a parsed Dockerfile: the stages the target needs, in order, each instruction a step
//! that yields an image (a RUN or COPY adds one layer, the rest change only the config). With
//! layers on, each step's image is remembered under a key made like Buildah's — the parent
//! image, the instruction as expanded and the digest of what it copies — so an unchanged step
//! is not run again and a changed file reruns only what comes after it.
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use skiff_engine::{
    Change, ChildImage, ContainerSpec, Engine, EngineError, ImageRoot, LayerInfo, ManifestFormat,
    MountSpec, NetworkMode, PullOptions, PullPolicy, StartMode, TransferEvent,
};
use skiff_image::Reference;
use skiff_storage::hex_digest;

use crate::dockerfile::{Args, Dockerfile, Instruction, ParseError, Stage};
use crate::patterns::IgnoreRules;
use crate::sources::{self, Attributes, Item, SelectOptions, SourceError};
use crate::words::{Variables, WordError, expand, expand_all, split_raw};

/// ARGs every build defines without a declaration (Docker's proxy variables).
const PROXY_ARGS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("{file}:{line}: {instruction}: {message}")]
    Step {
        file: String,
        line: usize,
        instruction: String,
        message: String,
    },
    #[error("building at STEP \"{step}\": while running runtime: exit status {code}")]
    RunFailed { step: String, code: i32 },
    #[error("target stage {0:?} could not be found")]
    NoTarget(String),
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// What `skiff build` was asked.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The build context directory.
    pub context: PathBuf,
    /// `-f`: the Dockerfile; default Containerfile, else Dockerfile, in the context.
    pub file: Option<PathBuf>,
    pub tags: Vec<String>,
    /// `--build-arg` values (the CLI fills in `NAME` alone from its environment).
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub labels: Vec<(String, String)>,
    pub no_cache: bool,
    /// `--layers`: keep an image per step and use them as a cache.
    pub layers: bool,
    pub format: ManifestFormat,
    pub pull: PullPolicy,
    pub pull_options: PullOptions,
    pub quiet: bool,
    /// `--timestamp` / SOURCE_DATE_EPOCH: created time and every new file's time.
    pub timestamp: Option<i64>,
    /// `--network` for RUN; Docker's and Buildah's default gives RUN the network.
    pub network: NetworkMode,
    /// `--ignorefile`.
    pub ignore_file: Option<PathBuf>,
    pub squash: Squash,
    /// `--secret id=ID,src=PATH`: files RUN --mount=type=secret reads; never in a layer.
    pub secrets: BTreeMap<String, PathBuf>,
}

/// `--squash` and `--squash-all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Squash {
    #[default]
    No,
    /// The layers the build added become one; the base image's stay.
    New,
    /// Everything becomes one layer.
    All,
}

/// Builds and returns the final image's ID. Progress goes to `out` (Podman's `STEP n/m:`
/// lines); RUN output goes to this process's stdout and stderr.
pub fn build(
    engine: &mut Engine,
    options: &BuildOptions,
    out: &mut dyn Write,
) -> Result<String, BuildError> {
    let file = dockerfile_path(options)?;
    let read = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(&file)
    };
    let text = read.map_err(|source| BuildError::Read {
        path: file.display().to_string(),
        source,
    })?;
    let file_name = file.display().to_string();
    let dockerfile = Dockerfile::parse(&text, &file_name)?;
    let ignore = ignore_rules(options, &file)?;
    let mut builder = Builder {
        engine,
        options,
        dockerfile: &dockerfile,
        file: file_name,
        ignore,
        out,
        stage_images: vec![None; dockerfile.stages.len()],
        stage_bases: vec![None; dockerfile.stages.len()],
        created: Vec::new(),
        used_args: BTreeSet::new(),
    };
    let result = builder.run();
    // Without --layers the steps' images are not kept: only the final image stays.
    if !options.layers {
        let keep = result.as_ref().ok().cloned();
        for id in std::mem::take(&mut builder.created) {
            if Some(&id) != keep.as_ref() {
                let _ = builder.engine.remove_image_entirely(&id, false);
            }
        }
    }
    result
}

fn dockerfile_path(options: &BuildOptions) -> Result<PathBuf, BuildError> {
    if let Some(file) = &options.file {
        return Ok(file.clone());
    }
    for name in ["Containerfile", "Dockerfile"] {
        let path = options.context.join(name);
        if path.is_file() {
            return Ok(path);
        }
    }
    Err(BuildError::Read {
        path: options.context.join("Containerfile").display().to_string(),
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no Containerfile or Dockerfile in the build context",
        ),
    })
}

/// `--ignorefile`, else `<file>.containerignore`/`.dockerignore` beside the Dockerfile, else
/// `.containerignore`/`.dockerignore` in the context.
fn ignore_rules(options: &BuildOptions, file: &Path) -> Result<IgnoreRules, BuildError> {
    let mut candidates = Vec::new();
    if let Some(path) = &options.ignore_file {
        candidates.push(path.clone());
    } else {
        if file != Path::new("-") {
            for suffix in ["containerignore", "dockerignore"] {
                candidates.push(PathBuf::from(format!("{}.{suffix}", file.display())));
            }
        }
        for name in [".containerignore", ".dockerignore"] {
            candidates.push(options.context.join(name));
        }
    }
    for path in candidates {
        match std::fs::read_to_string(&path) {
            Ok(text) => return Ok(IgnoreRules::parse(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && options.ignore_file.is_none() => {
            }
            Err(source) => {
                return Err(BuildError::Read {
                    path: path.display().to_string(),
                    source,
                });
            }
        }
    }
    Ok(IgnoreRules::default())
}

struct Builder<'a> {
    engine: &'a mut Engine,
    options: &'a BuildOptions,
    dockerfile: &'a Dockerfile,
    file: String,
    ignore: IgnoreRules,
    out: &'a mut dyn Write,
    /// The image each stage ended with, once built.
    stage_images: Vec<Option<String>>,
    /// The image each stage started from (None: scratch).
    stage_bases: Vec<Option<String>>,
    /// Images this build made (removed at the end without --layers).
    created: Vec<String>,
    used_args: BTreeSet<String>,
}

/// Where a stage is: its image so far and that image's config.
struct State {
    image: Option<String>,
    config: Map<String, Value>,
    /// ARGs declared in this stage, with their values.
    args: BTreeMap<String, Option<String>>,
    /// Whether this stage set CMD (then a later ENTRYPOINT keeps it).
    cmd_set: bool,
}

impl State {
    fn env(&self) -> Vec<(String, String)> {
        self.config
            .get("Env")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .filter_map(|e| e.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The value of `$name` in an instruction: ENV wins over ARG, as in Docker.
    fn variable(&self, name: &str) -> Option<String> {
        self.env()
            .into_iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
            .or_else(|| self.args.get(name).cloned().flatten())
    }

    fn text(&self, key: &str) -> Option<String> {
        self.config
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    fn shell(&self) -> Vec<String> {
        self.config
            .get("Shell")
            .and_then(|v| serde_json::from_value::<Vec<String>>(v.clone()).ok())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()])
    }
}

/// One step's outcome before it is recorded.
enum Outcome {
    /// Only the config changed.
    Config,
    /// A new layer.
    Layer(LayerInfo),
}

impl Builder<'_> {
    fn run(&mut self) -> Result<String, BuildError> {
        let target = match &self.options.target {
            Some(name) => {
                self.dockerfile
                    .stage(name)
                    .ok_or_else(|| BuildError::NoTarget(name.clone()))?
                    .index
            }
            None => self.dockerfile.stages.len() - 1,
        };
        let global = self.global_args()?;
        let needed = self.needed_stages(target, &global)?;
        let multi = needed.len() > 1;
        let mut final_image = None;
        for (position, index) in needed.iter().enumerate() {
            let prefix = multi.then(|| format!("[{}/{}] ", position + 1, needed.len()));
            let image = self.build_stage(*index, &global, prefix.as_deref().unwrap_or(""))?;
            self.stage_images[*index] = Some(image.clone());
            final_image = Some(image);
        }
        let mut image = final_image.unwrap_or_default();
        if !self.options.labels.is_empty() {
            image = self.finish_with_labels(&image)?;
        }
        if self.options.squash != Squash::No {
            image = self.squash(&image, target)?;
        }
        let unused: Vec<&String> = self
            .options
            .build_args
            .keys()
            .filter(|k| !self.used_args.contains(*k) && !PROXY_ARGS.contains(&k.as_str()))
            .collect();
        if !unused.is_empty() && !self.options.quiet {
            let names: Vec<&str> = unused.iter().map(|s| s.as_str()).collect();
            eprintln!(
                "[Warning] one or more build args were not consumed: [{}]",
                names.join(" ")
            );
        }
        if let Some(first) = self.options.tags.first() {
            self.say(&format!("COMMIT {first}"));
        } else {
            self.say("COMMIT");
        }
        self.say(&format!("--> {}", short(&image)));
        for tag in &self.options.tags {
            self.engine.tag_image(&image, tag)?;
            let name = Reference::parse(tag)
                .map(|r| r.normalized())
                .unwrap_or_else(|_| tag.clone());
            self.say(&format!("Successfully tagged {name}"));
        }
        let _ = writeln!(self.out, "{image}");
        Ok(image)
    }

    fn say(&mut self, line: &str) {
        if !self.options.quiet {
            let _ = writeln!(self.out, "{line}");
            let _ = self.out.flush();
        }
    }

    fn step_error(&self, instruction: &Instruction, message: impl ToString) -> BuildError {
        BuildError::Step {
            file: self.file.clone(),
            line: instruction.line,
            instruction: instruction.keyword.clone(),
            message: message.to_string(),
        }
    }

    /// ARGs before the first FROM, with the platform ARGs BuildKit predefines.
    fn global_args(&mut self) -> Result<BTreeMap<String, String>, BuildError> {
        let arch = skiff_engine::machine_architecture();
        let mut values = BTreeMap::new();
        for (key, value) in [
            ("TARGETPLATFORM", format!("linux/{arch}")),
            ("TARGETOS", "linux".into()),
            ("TARGETARCH", arch.into()),
            ("TARGETVARIANT", String::new()),
            ("BUILDPLATFORM", format!("linux/{arch}")),
            ("BUILDOS", "linux".into()),
            ("BUILDARCH", arch.into()),
            ("BUILDVARIANT", String::new()),
        ] {
            values.insert(key.to_string(), value);
        }
        for instruction in &self.dockerfile.global_args {
            for (name, default) in
                self.arg_declarations(instruction, &|n: &str| values.get(n).cloned())?
            {
                let value = self.options.build_args.get(&name).cloned().or(default);
                if let Some(value) = value {
                    self.used_args.insert(name.clone());
                    values.insert(name, value);
                }
            }
        }
        Ok(values)
    }

    /// `ARG a=1 b`: (name, default), defaults expanded.
    fn arg_declarations(
        &self,
        instruction: &Instruction,
        vars: &dyn Variables,
    ) -> Result<Vec<(String, Option<String>)>, BuildError> {
        let escape = self.dockerfile.escape;
        let words =
            split_raw(&instruction.text(), escape).map_err(|e| self.step_error(instruction, e))?;
        let mut out = Vec::new();
        for word in words {
            let (name, default) = match word.split_once('=') {
                Some((name, value)) => (
                    name.to_string(),
                    Some(expand(value, vars, escape).map_err(|e| self.step_error(instruction, e))?),
                ),
                None => (word.clone(), None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(self.step_error(instruction, format!("invalid ARG name {name:?}")));
            }
            out.push((name, default));
        }
        Ok(out)
    }

    /// The target and every stage it depends on (FROM, COPY --from, RUN --mount from=), in
    /// file order. Stages nothing needs are skipped.
    fn needed_stages(
        &self,
        target: usize,
        global: &BTreeMap<String, String>,
    ) -> Result<Vec<usize>, BuildError> {
        let references = (0..self.dockerfile.stages.len())
            .map(|index| self.stage_references(index, global))
            .collect::<Result<Vec<_>, _>>()?;
        // A stage that needs itself, directly or through later stages, can never be built.
        let mut path = Vec::new();
        self.check_cycle(target, &references, &mut path)?;
        let mut needed = BTreeSet::new();
        let mut pending = vec![target];
        while let Some(index) = pending.pop() {
            if !needed.insert(index) {
                continue;
            }
            for dependency in &references[index] {
                // A name of a later stage in FROM is an image's, as Docker reads it.
                if *dependency < index {
                    pending.push(*dependency);
                }
            }
        }
        Ok(needed.into_iter().collect())
    }

    /// The stages one stage names (FROM, COPY --from, RUN --mount from=).
    fn stage_references(
        &self,
        index: usize,
        global: &BTreeMap<String, String>,
    ) -> Result<Vec<usize>, BuildError> {
        let stage = &self.dockerfile.stages[index];
        let mut references = Vec::new();
        for instruction in &stage.instructions {
            if let Some(from) = instruction.flag("from") {
                references.push(from.to_string());
            }
            for mount in instruction.flag_values("mount") {
                if let Some(from) = mount_options(mount).get("from") {
                    references.push(from.clone());
                }
            }
        }
        let mut indexes: Vec<usize> = references
            .iter()
            .filter_map(|reference| self.dockerfile.stage(reference))
            .map(|dependency| dependency.index)
            .collect();
        // `FROM golang AS golang` names the image, not the stage itself.
        if let Some(base) = self.dockerfile.stage(&self.expand_base(stage, global)?)
            && base.index != index
        {
            indexes.push(base.index);
        }
        Ok(indexes)
    }

    fn check_cycle(
        &self,
        index: usize,
        references: &[Vec<usize>],
        path: &mut Vec<usize>,
    ) -> Result<(), BuildError> {
        if path.contains(&index) {
            let stage = &self.dockerfile.stages[index];
            return Err(self.step_error(
                &stage.from,
                format!(
                    "circular dependency detected on stage: {}",
                    stage.name.clone().unwrap_or_else(|| index.to_string())
                ),
            ));
        }
        path.push(index);
        for dependency in &references[index] {
            self.check_cycle(*dependency, references, path)?;
        }
        path.pop();
        Ok(())
    }

    fn expand_base(
        &self,
        stage: &Stage,
        global: &BTreeMap<String, String>,
    ) -> Result<String, BuildError> {
        expand(
            &stage.base,
            &|n: &str| global.get(n).cloned(),
            self.dockerfile.escape,
        )
        .map_err(|e| self.step_error(&stage.from, e))
    }

    fn build_stage(
        &mut self,
        index: usize,
        global: &BTreeMap<String, String>,
        prefix: &str,
    ) -> Result<String, BuildError> {
        let stage = &self.dockerfile.stages[index];
        let base = self.expand_base(stage, global)?;
        let mut instructions: Vec<Instruction> = stage.instructions.clone();
        let total = instructions.len() + 1;
        self.say(&format!("{prefix}STEP 1/{total}: {}", stage.from.original));
        let mut state = self.base_state(stage, &base, global)?;
        self.stage_bases[index] = state.image.clone();
        // ONBUILD triggers of the base image run first, and are not inherited.
        if let Some(Value::Array(triggers)) = state.config.remove("OnBuild") {
            let mut parsed = Vec::new();
            for trigger in triggers.iter().filter_map(Value::as_str) {
                let text = format!("FROM scratch\n{trigger}\n");
                let file = Dockerfile::parse(&text, &format!("{base} ONBUILD"))?;
                parsed.extend(file.stages[0].instructions.iter().cloned());
            }
            parsed.extend(instructions);
            instructions = parsed;
        }
        let total = instructions.len() + 1;
        for (number, instruction) in instructions.iter().enumerate() {
            self.say(&format!(
                "{prefix}STEP {}/{total}: {}",
                number + 2,
                instruction.original
            ));
            self.step(&mut state, instruction, global)?;
        }
        match state.image {
            Some(image) => Ok(image),
            // `FROM scratch` and nothing that made an image.
            None => {
                let child = self.child(&state, "/bin/sh -c #(nop) FROM scratch".into());
                let report = self.engine.commit_image(None, None, &child, None)?;
                self.created.push(report.image.id.clone());
                Ok(report.image.id)
            }
        }
    }

    fn base_state(
        &mut self,
        stage: &Stage,
        base: &str,
        global: &BTreeMap<String, String>,
    ) -> Result<State, BuildError> {
        let image = if base.eq_ignore_ascii_case("scratch") {
            None
        } else if let Some(dependency) = self.dockerfile.stage(base)
            && dependency.index < stage.index
        {
            self.stage_images[dependency.index].clone()
        } else {
            let quiet = self.options.quiet;
            let progress = move |event: TransferEvent| {
                if !quiet && let TransferEvent::Blob { digest, skipped } = event {
                    let verb = if skipped { "already exists" } else { "done" };
                    eprintln!("Copying blob {digest} {verb}");
                }
            };
            let mut options = self.options.pull_options.clone();
            if options.platform.is_none()
                && let Some(platform) = &stage.platform
            {
                // `--platform=$BUILDPLATFORM`: the global ARGs apply.
                options.platform = Some(
                    expand(
                        platform,
                        &|n: &str| global.get(n).cloned(),
                        self.dockerfile.escape,
                    )
                    .map_err(|e| self.step_error(&stage.from, e))?,
                );
            }
            Some(
                self.engine
                    .image_for_run(base, self.options.pull, &options, &progress)
                    .map_err(|e| self.step_error(&stage.from, e))?,
            )
        };
        let config = match &image {
            Some(id) => {
                let report = self.engine.image(id)?;
                let parsed: Value =
                    serde_json::from_str(report.image.config_json()).unwrap_or_default();
                match parsed.get("config") {
                    Some(Value::Object(map)) => map.clone(),
                    _ => Map::new(),
                }
            }
            None => Map::new(),
        };
        Ok(State {
            image,
            config,
            args: BTreeMap::new(),
            cmd_set: false,
        })
    }

    fn created(&self) -> DateTime<Utc> {
        self.options
            .timestamp
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .unwrap_or_else(Utc::now)
    }

    fn child(&self, state: &State, created_by: String) -> ChildImage {
        ChildImage {
            container_config: state.config.clone(),
            created_by,
            comment: None,
            author: None,
            created: self.created(),
            format: self.options.format,
        }
    }

    /// ARG values visible to RUN (declared in the stage, with a value).
    fn run_args(&self, state: &State) -> Vec<(String, String)> {
        let env: BTreeSet<String> = state.env().into_iter().map(|(k, _)| k).collect();
        let mut args: Vec<(String, String)> = state
            .args
            .iter()
            .filter(|(k, _)| !env.contains(*k))
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .collect();
        for name in PROXY_ARGS {
            if let Some(value) = self.options.build_args.get(*name)
                && !args.iter().any(|(k, _)| k == name)
            {
                args.push((name.to_string(), value.clone()));
            }
        }
        args
    }

    fn step(
        &mut self,
        state: &mut State,
        instruction: &Instruction,
        global: &BTreeMap<String, String>,
    ) -> Result<(), BuildError> {
        let escape = self.dockerfile.escape;
        let vars = |name: &str| state.variable(name);
        let word = |text: &str| -> Result<String, BuildError> {
            expand(text, &vars, escape).map_err(|e: WordError| self.step_error(instruction, e))
        };
        let words = |text: &str| -> Result<Vec<String>, BuildError> {
            expand_all(text, &vars, escape).map_err(|e| self.step_error(instruction, e))
        };
        let keyword = instruction.keyword.as_str();
        // Each arm changes `state.config` and says how the step is described and keyed.
        let mut config = state.config.clone();
        let mut apply = |change: Change| change.apply(&mut config);
        let (created_by, content): (String, Option<String>) = match keyword {
            "ARG" => {
                for (name, default) in self.arg_declarations(instruction, &vars)? {
                    let value = self
                        .options
                        .build_args
                        .get(&name)
                        .cloned()
                        .or(default)
                        .or_else(|| global.get(&name).cloned());
                    self.used_args.insert(name.clone());
                    state.args.insert(name, value);
                }
                // ARG changes no image: what it changes shows in the RUNs that use it.
                return Ok(());
            }
            "ENV" | "LABEL" => {
                let pairs = key_values(instruction, escape, &vars)
                    .map_err(|e| self.step_error(instruction, e))?;
                let mut shown = Vec::new();
                for (key, value) in pairs {
                    shown.push(format!("{key}={}", shell_quote(&value)));
                    apply(if keyword == "ENV" {
                        Change::Env(key, value)
                    } else {
                        Change::Label(key, value)
                    });
                }
                (
                    format!("/bin/sh -c #(nop) {keyword} {}", shown.join(" ")),
                    None,
                )
            }
            "MAINTAINER" => {
                let name = word(&instruction.text())?;
                apply(Change::Label("maintainer".into(), name.clone()));
                (format!("/bin/sh -c #(nop) MAINTAINER {name}"), None)
            }
            "WORKDIR" => {
                let dir = word(&instruction.text())?;
                let current = state.text("WorkingDir").unwrap_or_else(|| "/".into());
                let dir = clean_absolute(&Path::new(&current).join(dir));
                apply(Change::WorkingDir(dir.clone()));
                (format!("/bin/sh -c #(nop) WORKDIR {dir}"), None)
            }
            "USER" => {
                let user = word(&instruction.text())?;
                apply(Change::User(user.clone()));
                (format!("/bin/sh -c #(nop) USER {user}"), None)
            }
            "EXPOSE" => {
                let ports = words(&instruction.text())?;
                if let Some(bad) = ports.iter().find(|p| !valid_exposed_port(p)) {
                    return Err(
                        self.step_error(instruction, format!("invalid containerPort: {bad}"))
                    );
                }
                for port in &ports {
                    let port = if port.contains('/') {
                        port.to_ascii_lowercase()
                    } else {
                        format!("{port}/tcp")
                    };
                    apply(Change::Expose(port));
                }
                (
                    format!("/bin/sh -c #(nop) EXPOSE {}", ports.join(" ")),
                    None,
                )
            }
            "VOLUME" => {
                let volumes = match &instruction.args {
                    Args::Json(list) => list.clone(),
                    Args::Text(text) => words(text)?,
                };
                for volume in &volumes {
                    apply(Change::Volume(volume.clone()));
                }
                (format!("/bin/sh -c #(nop) VOLUME {volumes:?}"), None)
            }
            "STOPSIGNAL" => {
                let signal = word(&instruction.text())?;
                if !skiff_engine::valid_signal(&signal) {
                    return Err(self.step_error(instruction, format!("invalid signal: {signal}")));
                }
                apply(Change::StopSignal(signal.clone()));
                (format!("/bin/sh -c #(nop) STOPSIGNAL {signal}"), None)
            }
            "SHELL" => {
                let Args::Json(shell) = &instruction.args else {
                    return Err(self.step_error(
                        instruction,
                        "SHELL requires the arguments to be in JSON form",
                    ));
                };
                apply(Change::Shell(shell.clone()));
                (format!("/bin/sh -c #(nop) SHELL {shell:?}"), None)
            }
            "CMD" | "ENTRYPOINT" => {
                let command = match &instruction.args {
                    Args::Json(list) => list.clone(),
                    Args::Text(text) if text.trim().is_empty() => Vec::new(),
                    Args::Text(text) => {
                        let mut shell = state.shell();
                        shell.push(text.clone());
                        shell
                    }
                };
                let shown = format!("/bin/sh -c #(nop) {keyword} {command:?}");
                if keyword == "CMD" {
                    apply(Change::Cmd(command));
                    state.cmd_set = true;
                } else {
                    apply(Change::Entrypoint(command));
                    // A new ENTRYPOINT drops an inherited CMD, as in Docker.
                    if !state.cmd_set {
                        config.remove("Cmd");
                    }
                }
                (shown, None)
            }
            "HEALTHCHECK" => {
                let check = self.healthcheck(instruction, state)?;
                apply(Change::Healthcheck(check));
                (
                    format!("/bin/sh -c #(nop) HEALTHCHECK {}", instruction.text()),
                    None,
                )
            }
            "ONBUILD" => {
                let trigger = instruction.text();
                let first = trigger.split_whitespace().next().unwrap_or_default();
                if ["ONBUILD", "FROM", "MAINTAINER"].contains(&first.to_ascii_uppercase().as_str())
                {
                    return Err(self.step_error(
                        instruction,
                        format!("{first} isn't allowed as an ONBUILD trigger"),
                    ));
                }
                apply(Change::OnBuild(trigger.clone()));
                (format!("/bin/sh -c #(nop) ONBUILD {trigger}"), None)
            }
            "RUN" => {
                let argv = self.run_command(instruction, state);
                let args = self.run_args(state);
                let mut created_by = String::new();
                if !args.is_empty() {
                    let shown: Vec<String> = args.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    created_by = format!("|{} {} ", args.len(), shown.join(" "));
                }
                created_by.push_str(&argv.join(" "));
                let flags: Vec<String> = instruction
                    .flags
                    .iter()
                    .map(|(k, v)| format!("--{k}={v}"))
                    .collect();
                let key_extra = (!flags.is_empty()).then(|| flags.join(" "));
                (created_by, key_extra)
            }
            "COPY" | "ADD" => {
                let plan = self.copy_plan(instruction, state)?;
                let digest = sources::content_digest(&plan.items, plan.attributes)
                    .map_err(|e| self.step_error(instruction, e))?;
                let created_by = format!(
                    "/bin/sh -c #(nop) {keyword} {} in {}",
                    digest.trim_start_matches("sha256:"),
                    plan.destination
                );
                let key_extra = format!("{digest} {:?}", instruction.flags);
                return self.commit_step(
                    state,
                    instruction,
                    config,
                    created_by,
                    Some(key_extra),
                    |b, s| b.copy_layer(s, instruction, &plan).map(Outcome::Layer),
                );
            }
            other => {
                return Err(self.step_error(instruction, format!("{other} is not supported")));
            }
        };
        if keyword == "RUN" {
            return self.commit_step(state, instruction, config, created_by, content, |b, s| {
                b.run_layer(s, instruction).map(Outcome::Layer)
            });
        }
        if keyword == "WORKDIR" {
            let dir = config
                .get("WorkingDir")
                .and_then(Value::as_str)
                .unwrap_or("/")
                .to_string();
            return self.commit_step(state, instruction, config, created_by, None, move |b, s| {
                b.workdir_layer(s, instruction, &dir)
            });
        }
        self.commit_step(state, instruction, config, created_by, content, |_, _| {
            Ok(Outcome::Config)
        })
    }

    /// Looks the step up in the cache; else runs `work` on the parent and records the image.
    fn commit_step(
        &mut self,
        state: &mut State,
        instruction: &Instruction,
        config: Map<String, Value>,
        created_by: String,
        key_extra: Option<String>,
        work: impl FnOnce(&mut Self, &State) -> Result<Outcome, BuildError>,
    ) -> Result<(), BuildError> {
        let parent = state.image.clone().unwrap_or_else(|| "scratch".into());
        let key = hex_digest(
            format!(
                "{parent}\n{created_by}\n{}\n{}",
                key_extra.unwrap_or_default(),
                serde_json::to_string(&config).unwrap_or_default()
            )
            .as_bytes(),
        );
        let use_cache = self.options.layers && !self.options.no_cache;
        if use_cache && let Some(cached) = self.engine.cached_build_step(&key)? {
            self.say(&format!("--> Using cache {}", cached.image.id));
            self.say(&format!("--> {}", short(&cached.image.id)));
            state.image = Some(cached.image.id.clone());
            state.config = config;
            return Ok(());
        }
        let outcome = work(self, state)?;
        let layer = match &outcome {
            Outcome::Layer(layer) => Some(layer),
            Outcome::Config => None,
        };
        let before = State {
            image: state.image.clone(),
            config,
            args: BTreeMap::new(),
            cmd_set: false,
        };
        let child = self.child(&before, created_by);
        let report = self
            .engine
            .commit_image(state.image.as_deref(), layer, &child, None)
            .map_err(|e| self.step_error(instruction, e))?;
        let id = report.image.id.clone();
        self.created.push(id.clone());
        if self.options.layers {
            self.engine.remember_build_step(&key, &id)?;
        }
        self.say(&format!("--> {}", short(&id)));
        state.image = Some(id);
        state.config = before.config;
        Ok(())
    }

    fn run_command(&self, instruction: &Instruction, state: &State) -> Vec<String> {
        match &instruction.args {
            Args::Json(list) => list.clone(),
            Args::Text(text) => {
                let mut shell = state.shell();
                let script = match instruction.heredocs.as_slice() {
                    // `RUN <<EOF` alone: the heredoc is the script.
                    [only]
                        if text
                            .trim()
                            .trim_start_matches("<<")
                            .trim_start_matches('-')
                            .trim_matches(['"', '\''])
                            == only.name =>
                    {
                        only.content.clone()
                    }
                    [] => text.clone(),
                    // The shell reads the heredocs itself.
                    heredocs => {
                        let mut script = text.clone();
                        script.push('\n');
                        for heredoc in heredocs {
                            script.push_str(&heredoc.content);
                            script.push_str(&heredoc.name);
                            script.push('\n');
                        }
                        script
                    }
                };
                shell.push(script);
                shell
            }
        }
    }

    /// RUN: a container of the parent image with the stage's user, directory, environment and
    /// ARGs; its changes become the layer.
    fn run_layer(
        &mut self,
        state: &State,
        instruction: &Instruction,
    ) -> Result<LayerInfo, BuildError> {
        let Some(image) = state.image.clone() else {
            return Err(self.step_error(
                instruction,
                "RUN needs an image with a shell: the stage starts FROM scratch",
            ));
        };
        let mut network = self.options.network.clone();
        let mut mounts = Vec::new();
        let mut privileged = false;
        for (flag, value) in &instruction.flags {
            match flag.as_str() {
                "network" => {
                    network = match value.as_str() {
                        "default" => self.options.network.clone(),
                        other => NetworkMode::parse(other).ok_or_else(|| {
                            self.step_error(instruction, format!("unknown --network {other:?}"))
                        })?,
                    }
                }
                "mount" => mounts.push(self.run_mount(instruction, value)?),
                // BuildKit's entitlement for a privileged RUN.
                "security" => privileged = value == "insecure",
                _ => {}
            }
        }
        let spec = ContainerSpec {
            image,
            command: self.run_command(instruction, state),
            entrypoint: Some(Vec::new()),
            env: self
                .run_args(state)
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            workdir: state.text("WorkingDir"),
            user: state.text("User"),
            network,
            mounts: mounts.into_iter().flatten().collect(),
            privileged,
            ..ContainerSpec::default()
        };
        let _ = self.out.flush();
        let created = self.engine.create_container(spec, None)?;
        let result = self.engine.start_container(&created.id, StartMode::step());
        let layer = match result {
            Ok(0) => self
                .engine
                .container_layer(&created.id, self.file_time())
                .map_err(BuildError::from),
            Ok(code) => Err(BuildError::RunFailed {
                step: instruction.original.clone(),
                code,
            }),
            Err(EngineError::StartFailed(code, message)) => {
                Err(self.step_error(instruction, format!("{message} (exit status {code})")))
            }
            Err(err) => Err(err.into()),
        };
        let _ = self.engine.remove_container(&created.id, true);
        layer
    }

    /// `RUN --mount=type=bind|cache|tmpfs|secret,...` as a mount of the RUN container.
    fn run_mount(
        &mut self,
        instruction: &Instruction,
        value: &str,
    ) -> Result<Option<MountSpec>, BuildError> {
        let options = mount_options(value);
        let target = options
            .get("target")
            .or_else(|| options.get("dst"))
            .or_else(|| options.get("destination"))
            .cloned();
        let kind = options.get("type").map(String::as_str).unwrap_or("bind");
        let read_only =
            options.contains_key("ro") || options.get("readonly").is_some_and(|v| v != "false");
        let Some(target) = target.or_else(|| {
            (kind == "secret").then(|| {
                format!(
                    "/run/secrets/{}",
                    options.get("id").cloned().unwrap_or_default()
                )
            })
        }) else {
            return Err(self.step_error(instruction, format!("--mount={value}: no target")));
        };
        match kind {
            "tmpfs" => Ok(Some(MountSpec::Tmpfs {
                destination: target,
                options: Vec::new(),
            })),
            "cache" => {
                let id = options.get("id").cloned().unwrap_or_else(|| target.clone());
                let dir = self.engine.build_cache_dir(&id)?;
                Ok(Some(MountSpec::Bind {
                    source: dir.display().to_string(),
                    destination: target,
                    options: vec![if read_only { "ro" } else { "rw" }.into()],
                }))
            }
            "bind" => {
                let source = options
                    .get("source")
                    .or_else(|| options.get("src"))
                    .cloned()
                    .unwrap_or_default();
                let relative = sources::clean_relative(&source)
                    .map_err(|e| self.step_error(instruction, e))?;
                let base = match options.get("from") {
                    Some(from) => self.stage_root(instruction, from)?.0,
                    None => self.options.context.clone(),
                };
                // Read-only unless asked, as in Docker; `rw` writes are thrown away there,
                // here they would reach the context, so it stays read-only.
                Ok(Some(MountSpec::Bind {
                    source: base.join(relative).display().to_string(),
                    destination: target,
                    options: vec!["ro".into()],
                }))
            }
            "secret" => {
                let id = options.get("id").cloned().unwrap_or_default();
                match self.options.secrets.get(&id) {
                    Some(source) => Ok(Some(MountSpec::Bind {
                        source: source.display().to_string(),
                        destination: target,
                        options: vec!["ro".into()],
                    })),
                    None if options.get("required").is_some_and(|v| v == "true") => Err(self
                        .step_error(
                            instruction,
                            format!("secret {id:?} is required: pass --secret id={id},src=FILE"),
                        )),
                    // An optional secret that was not given: nothing is mounted.
                    None => Ok(None),
                }
            }
            other => Err(self.step_error(
                instruction,
                format!("--mount type={other} is not supported (bind, cache, tmpfs, secret)"),
            )),
        }
    }

    /// The root a COPY --from or a bind mount reads: a stage's image or another image,
    /// mounted read-only (the guard keeps it mounted).
    fn stage_root(
        &mut self,
        instruction: &Instruction,
        from: &str,
    ) -> Result<(PathBuf, Option<ImageRoot>), BuildError> {
        let image = match self.dockerfile.stage(from) {
            Some(stage) => self.stage_images[stage.index].clone().ok_or_else(|| {
                self.step_error(instruction, format!("stage {from:?} has not been built"))
            })?,
            None => {
                let progress = |_: TransferEvent| {};
                self.engine
                    .image_for_run(
                        from,
                        self.options.pull,
                        &self.options.pull_options,
                        &progress,
                    )
                    .map_err(|e| self.step_error(instruction, e))?
            }
        };
        let root = self.engine.image_root(&image)?;
        Ok((root.path().to_path_buf(), Some(root)))
    }

    fn file_time(&self) -> Option<u64> {
        self.options.timestamp.map(|t| t.max(0) as u64)
    }

    /// WORKDIR creates its directory when the image lacks it.
    fn workdir_layer(
        &mut self,
        state: &State,
        instruction: &Instruction,
        dir: &str,
    ) -> Result<Outcome, BuildError> {
        let root = match &state.image {
            Some(image) => Some(self.engine.image_root(image)?),
            None => None,
        };
        let missing = match &root {
            Some(root) => {
                let resolved = sources::resolve_in_root(root.path(), Path::new(dir));
                sources::missing_parents(root.path(), &resolved)
            }
            None => all_parents(Path::new(dir.trim_start_matches('/'))),
        };
        if missing.is_empty() {
            return Ok(Outcome::Config);
        }
        let attributes = Attributes {
            mtime: self.file_time(),
            ..Attributes::default()
        };
        self.store_written(instruction, move |writer| {
            sources::write_layer(writer, &[], Path::new(""), &missing, false, attributes)
        })
        .map(Outcome::Layer)
    }

    /// A layer tar written by `write` on another thread, stored as it is written.
    fn store_written(
        &mut self,
        instruction: &Instruction,
        write: impl FnOnce(std::io::PipeWriter) -> std::io::Result<()> + Send,
    ) -> Result<LayerInfo, BuildError> {
        self.engine
            .store_layer_written(&instruction.original, write)
            .map_err(|e| self.step_error(instruction, e))
    }

    fn copy_plan(
        &mut self,
        instruction: &Instruction,
        state: &State,
    ) -> Result<CopyPlan, BuildError> {
        let escape = self.dockerfile.escape;
        let vars = |name: &str| state.variable(name);
        let mut words = match &instruction.args {
            Args::Json(list) => list
                .iter()
                .map(|w| expand(w, &vars, escape))
                .collect::<Result<Vec<_>, _>>(),
            Args::Text(text) => expand_all(text, &vars, escape),
        }
        .map_err(|e| self.step_error(instruction, e))?;
        let heredoc_names: Vec<String> = instruction
            .heredocs
            .iter()
            .map(|h| h.name.clone())
            .collect();
        words.retain(|w| {
            !heredoc_names.iter().any(|n| {
                w.trim_start_matches("<<")
                    .trim_start_matches('-')
                    .trim_matches(['"', '\''])
                    == n
                    && w.starts_with("<<")
            })
        });
        let Some(destination) = words.pop() else {
            return Err(self.step_error(
                instruction,
                "requires at least two arguments: SOURCE... DESTINATION",
            ));
        };
        if words.is_empty() && instruction.heredocs.is_empty() {
            return Err(self.step_error(
                instruction,
                "requires at least two arguments: SOURCE... DESTINATION",
            ));
        }
        let workdir = state.text("WorkingDir").unwrap_or_else(|| "/".into());
        let mut absolute = clean_absolute(&Path::new(&workdir).join(&destination));
        if destination.ends_with('/') && absolute != "/" {
            absolute.push('/');
        }
        let is_add = instruction.keyword == "ADD";
        let mut items = Vec::new();
        let mut roots = Vec::new();
        let mut into_directory = false;
        for heredoc in &instruction.heredocs {
            let content = if heredoc.expand {
                expand_heredoc(&heredoc.content, &vars)
            } else {
                heredoc.content.clone()
            };
            items.push(Item::Bytes {
                name: PathBuf::from(&heredoc.name),
                content: content.into_bytes(),
                mode: 0o644,
                mtime: 0,
            });
        }
        let (urls, paths): (Vec<String>, Vec<String>) = words
            .into_iter()
            .partition(|w| is_add && (w.starts_with("http://") || w.starts_with("https://")));
        for url in urls {
            items.push(self.download(instruction, &url)?);
        }
        if !paths.is_empty() {
            let (root, guard, ignore) = match instruction.flag("from") {
                Some(from) => {
                    let from =
                        expand(from, &vars, escape).map_err(|e| self.step_error(instruction, e))?;
                    let (root, guard) = self.stage_root(instruction, &from)?;
                    (root, guard, IgnoreRules::default())
                }
                None => (self.options.context.clone(), None, self.ignore.clone()),
            };
            let exclude: Vec<String> = instruction
                .flag_values("exclude")
                .map(str::to_string)
                .collect();
            let options = SelectOptions {
                ignore,
                exclude: IgnoreRules::parse(&exclude.join("\n")),
                extract_archives: is_add && instruction.flag("from").is_none(),
                parents: instruction.flag("parents").is_some_and(|v| v != "false"),
            };
            let selection = sources::select(&root, &paths, &options)
                .map_err(|e: SourceError| self.step_error(instruction, e))?;
            into_directory = selection.into_directory;
            items.extend(selection.items);
            roots.extend(guard);
        }
        let several = items.len() > 1 || into_directory;
        let attributes = Attributes {
            uid: 0,
            gid: 0,
            mode: match instruction.flag("chmod") {
                Some(mode) => Some(u32::from_str_radix(mode, 8).map_err(|_| {
                    self.step_error(
                        instruction,
                        format!("invalid --chmod {mode:?}: expected an octal mode"),
                    )
                })?),
                None => None,
            },
            mtime: self.file_time(),
        };
        Ok(CopyPlan {
            items,
            destination: absolute,
            several,
            chown: instruction.flag("chown").map(str::to_string),
            attributes,
            _roots: roots,
        })
    }

    fn download(&self, instruction: &Instruction, url: &str) -> Result<Item, BuildError> {
        let failed = |e: String| self.step_error(instruction, format!("downloading {url}: {e}"));
        let mut response = ureq::get(url).call().map_err(|e| failed(e.to_string()))?;
        let content = response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .map_err(|e| failed(e.to_string()))?;
        let name = url
            .split(['?', '#'])
            .next()
            .and_then(|u| u.rsplit('/').next())
            .filter(|n| !n.is_empty())
            .unwrap_or("index.html");
        if let Some(expected) = instruction.flag("checksum") {
            let actual = hex_digest(&content);
            if actual != expected {
                return Err(failed(format!(
                    "checksum {actual} is not the expected {expected}"
                )));
            }
        }
        Ok(Item::Bytes {
            name: PathBuf::from(name),
            content,
            mode: 0o600,
            mtime: 0,
        })
    }

    /// COPY/ADD: the planned items as a layer, below the destination resolved in the
    /// parent image (its links followed, missing directories made).
    fn copy_layer(
        &mut self,
        state: &State,
        instruction: &Instruction,
        plan: &CopyPlan,
    ) -> Result<LayerInfo, BuildError> {
        let image_root = match &state.image {
            Some(image) => Some(self.engine.image_root(image)?),
            None => None,
        };
        let empty = PathBuf::new();
        let root = image_root
            .as_ref()
            .map(|r| r.path().to_path_buf())
            .unwrap_or(empty);
        let mut attributes = plan.attributes;
        if let Some(chown) = &plan.chown {
            let user = skiff_engine::resolve_user(&root, Some(chown))
                .map_err(|e| self.step_error(instruction, e))?;
            attributes.uid = user.uid.into();
            attributes.gid = user.gid.into();
        }
        let wanted = plan.destination.trim_end_matches('/');
        let resolved = if root.as_os_str().is_empty() {
            PathBuf::from(wanted.trim_start_matches('/'))
        } else {
            sources::resolve_in_root(&root, Path::new(wanted))
        };
        let is_dir = plan.destination.ends_with('/')
            || plan.several
            || (!root.as_os_str().is_empty() && root.join(&resolved).is_dir());
        if plan.items.len() > 1 && !is_dir {
            return Err(self.step_error(
                instruction,
                "When using COPY with more than one source file, the destination must be a directory and end with a /",
            ));
        }
        let parents_of = if is_dir {
            resolved.clone()
        } else {
            resolved.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let parents = if root.as_os_str().is_empty() {
            all_parents(&parents_of)
        } else {
            sources::missing_parents(&root, &parents_of)
        };
        let items = &plan.items;
        let file_target = !is_dir;
        self.store_written(instruction, move |writer| {
            sources::write_layer(writer, items, &resolved, &parents, file_target, attributes)
        })
    }

    fn healthcheck(&self, instruction: &Instruction, state: &State) -> Result<Value, BuildError> {
        let text = instruction.text();
        let mut words = text.split_whitespace();
        let kind = words.next().unwrap_or_default().to_ascii_uppercase();
        if kind == "NONE" {
            return Ok(json!({"Test": ["NONE"]}));
        }
        if kind != "CMD" {
            return Err(self.step_error(instruction, "HEALTHCHECK takes CMD or NONE"));
        }
        let rest = text.trim_start()[3..].trim_start();
        let test: Vec<String> = match serde_json::from_str::<Vec<String>>(rest) {
            Ok(list) => std::iter::once("CMD".to_string()).chain(list).collect(),
            Err(_) => vec!["CMD-SHELL".into(), rest.to_string()],
        };
        let _ = state;
        let mut check = json!({"Test": test});
        for (flag, key) in [
            ("interval", "Interval"),
            ("timeout", "Timeout"),
            ("start-period", "StartPeriod"),
            ("start-interval", "StartInterval"),
        ] {
            if let Some(value) = instruction.flag(flag) {
                let nanos = skiff_engine::parse_go_duration(value)
                    .map(|d| d.as_nanos() as u64)
                    .ok_or_else(|| {
                        self.step_error(instruction, format!("invalid --{flag} {value:?}"))
                    })?;
                check[key] = json!(nanos);
            }
        }
        if let Some(retries) = instruction.flag("retries") {
            let retries: u32 = retries.parse().map_err(|_| {
                self.step_error(instruction, format!("invalid --retries {retries:?}"))
            })?;
            check["Retries"] = json!(retries);
        }
        Ok(check)
    }

    /// `--squash`: the target stage's base and one layer of everything above it;
    /// `--squash-all`: a single layer.
    fn squash(&mut self, image: &str, target: usize) -> Result<String, BuildError> {
        let base = match self.options.squash {
            Squash::New => self.stage_bases[target].clone(),
            _ => None,
        };
        let report = self.engine.image(image)?;
        let parsed: Value = serde_json::from_str(report.image.config_json()).unwrap_or_default();
        let config = match parsed.get("config") {
            Some(Value::Object(map)) => map.clone(),
            _ => Map::new(),
        };
        let state = State {
            image: base.clone(),
            config,
            args: BTreeMap::new(),
            cmd_set: false,
        };
        let child = self.child(&state, "/bin/sh -c #(nop) squashed build".into());
        let squashed =
            self.engine
                .squash_image(image, base.as_deref(), &child, self.file_time())?;
        self.created.push(squashed.image.id.clone());
        Ok(squashed.image.id)
    }

    /// With --label: one more image with the labels on top of the last step.
    fn finish_with_labels(&mut self, image: &str) -> Result<String, BuildError> {
        let report = self.engine.image(image)?;
        let parsed: Value = serde_json::from_str(report.image.config_json()).unwrap_or_default();
        let mut config = match parsed.get("config") {
            Some(Value::Object(map)) => map.clone(),
            _ => Map::new(),
        };
        let mut shown = Vec::new();
        for (key, value) in &self.options.labels {
            Change::Label(key.clone(), value.clone()).apply(&mut config);
            shown.push(format!("{key}={}", shell_quote(value)));
        }
        let mut state = State {
            image: Some(image.to_string()),
            config: config.clone(),
            args: BTreeMap::new(),
            cmd_set: false,
        };
        let created_by = format!("/bin/sh -c #(nop) LABEL {}", shown.join(" "));
        let line = Instruction {
            line: 0,
            keyword: "LABEL".into(),
            flags: Vec::new(),
            args: Args::Text(String::new()),
            heredocs: Vec::new(),
            original: "LABEL".into(),
        };
        self.commit_step(&mut state, &line, config, created_by, None, |_, _| {
            Ok(Outcome::Config)
        })?;
        Ok(state.image.unwrap_or_default())
    }
}

/// What a COPY/ADD will write.
struct CopyPlan {
    items: Vec<Item>,
    /// Absolute, ending with `/` when written so.
    destination: String,
    /// More than one thing, a directory's contents or an archive: the destination is a directory.
    several: bool,
    chown: Option<String>,
    attributes: Attributes,
    /// Mounted roots the items are read from.
    _roots: Vec<ImageRoot>,
}

/// Every directory of a relative path, outermost first.
fn all_parents(path: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    let mut current = PathBuf::new();
    for component in path.components() {
        current.push(component);
        all.push(current.clone());
    }
    all
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// `a/../b` and `./c` cleaned into an absolute path.
fn clean_absolute(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            std::path::Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            std::path::Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    format!("/{}", parts.join("/"))
}

/// `type=cache,target=/x,ro` as a map (`ro` alone maps to "true").
fn mount_options(value: &str) -> BTreeMap<String, String> {
    value
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|part| match part.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), v.trim().to_string()),
            None => (part.trim().to_ascii_lowercase(), "true".into()),
        })
        .collect()
}

/// `ENV a=1 b="two words"` or the old `ENV a one value`.
fn key_values(
    instruction: &Instruction,
    escape: char,
    vars: &dyn Variables,
) -> Result<Vec<(String, String)>, WordError> {
    let text = instruction.text();
    let words = split_raw(&text, escape)?;
    let first_has_equals = words.first().is_some_and(|w| w.contains('='));
    if !first_has_equals {
        let (key, rest) = text
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or((text.trim(), ""));
        // `ENV KEY value`: without a value (or a key) it means nothing, as Docker says.
        if key.is_empty() || rest.trim().is_empty() {
            return Err(WordError::Invalid("must have two arguments"));
        }
        return Ok(vec![(key.to_string(), expand(rest.trim(), vars, escape)?)]);
    }
    let mut pairs = Vec::new();
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            return Err(WordError::BadSubstitution(format!(
                "{word}: expected KEY=VALUE"
            )));
        };
        pairs.push((expand(key, vars, escape)?, expand(value, vars, escape)?));
    }
    Ok(pairs)
}

/// `80`, `80/udp`, `8000-8010/tcp`: ports 1 to 65535, protocols tcp, udp and sctp.
fn valid_exposed_port(spec: &str) -> bool {
    let (ports, protocol) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let port = |p: &str| p.parse::<u16>().is_ok_and(|p| p > 0);
    let ports_valid = match ports.split_once('-') {
        Some((low, high)) => {
            port(low) && port(high) && low.parse::<u16>().ok() <= high.parse::<u16>().ok()
        }
        None => port(ports),
    };
    ports_valid
        && matches!(
            protocol.to_ascii_lowercase().as_str(),
            "tcp" | "udp" | "sctp"
        )
}

/// A heredoc body with `$VAR` and `${VAR}` expanded (quotes in it stay as written).
fn expand_heredoc(content: &str, vars: &dyn Variables) -> String {
    let mut out = String::new();
    for line in content.split_inclusive('\n') {
        let escaped = line.replace('"', "\u{1}").replace('\'', "\u{2}");
        let expanded = expand(&escaped, vars, '\\').unwrap_or_else(|_| escaped.clone());
        out.push_str(&expanded.replace('\u{1}', "\"").replace('\u{2}', "'"));
    }
    out
}

/// Docker's history shows values quoted only when they need it.
fn shell_quote(value: &str) -> String {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@,+=".contains(c))
    {
        value.to_string()
    } else {
        format!("{value:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(clean_absolute(Path::new("/app/../srv/./x")), "/srv/x");
        assert_eq!(shell_quote("a b"), "\"a b\"");
        assert_eq!(shell_quote("1.0"), "1.0");
        let options = mount_options("type=cache,target=/root/.cache,ro");
        assert_eq!(options["type"], "cache");
        assert_eq!(options["ro"], "true");
        let vars = |n: &str| (n == "X").then(|| "1".to_string());
        assert_eq!(
            expand_heredoc("echo \"$X\" '${X}'\n", &vars),
            "echo \"1\" '1'\n"
        );
    }
}
