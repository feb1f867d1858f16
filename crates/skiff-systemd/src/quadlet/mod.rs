//! Quadlet: systemd services from `.container`, `.volume`, `.network`, `.pod`, `.kube`,
//! `.image` and `.build` files, as Podman's quadlet generator writes them (with skiff in
//! their Exec lines). The generator (`skiff-quadlet`, installed as systemd's
//! `skiff-system-generator` and `skiff-user-generator`) reads the search paths, converts each
//! file and writes the services (`generator`); `skiff quadlet` lists, prints, installs and
//! removes files (`files`).
mod files;
mod generator;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use files::{find_files, install, install_dir, remove, search_paths};
pub use generator::generator_main;

use crate::unitfile::{UnitFile, command_line};

/// The kinds of Quadlet file, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Image,
    Volume,
    Network,
    Build,
    Container,
    Kube,
    Pod,
}

impl Kind {
    /// In the order they are converted: what others name comes first.
    pub const ALL: [Kind; 7] = [
        Kind::Image,
        Kind::Volume,
        Kind::Network,
        Kind::Build,
        Kind::Container,
        Kind::Kube,
        Kind::Pod,
    ];

    pub fn extension(self) -> &'static str {
        match self {
            Kind::Container => "container",
            Kind::Volume => "volume",
            Kind::Network => "network",
            Kind::Pod => "pod",
            Kind::Kube => "kube",
            Kind::Image => "image",
            Kind::Build => "build",
        }
    }

    /// The file's own section, `[Container]` and the like.
    pub fn group(self) -> &'static str {
        match self {
            Kind::Container => "Container",
            Kind::Volume => "Volume",
            Kind::Network => "Network",
            Kind::Pod => "Pod",
            Kind::Kube => "Kube",
            Kind::Image => "Image",
            Kind::Build => "Build",
        }
    }

    pub fn from_path(path: &Path) -> Option<Kind> {
        let extension = path.extension()?.to_str()?;
        Kind::ALL.into_iter().find(|k| k.extension() == extension)
    }

    /// What the service of `base.EXT` is named: `web.container` is `web.service`, `data.volume`
    /// is `data-volume.service`.
    fn service(self, base: &str) -> String {
        match self {
            Kind::Container | Kind::Kube => base.to_string(),
            other => format!("{base}-{}", other.extension()),
        }
    }

    /// The keys of the file's section that skiff turns into its commands.
    fn supported(self) -> &'static [&'static str] {
        match self {
            Kind::Container => &[
                "AddCapability",
                "AddHost",
                "AutoUpdate",
                "ContainerName",
                "DNS",
                "DNSOption",
                "DNSSearch",
                "DropCapability",
                "Entrypoint",
                "Environment",
                "EnvironmentFile",
                "Exec",
                "GlobalArgs",
                "Group",
                "HealthCmd",
                "HealthInterval",
                "HealthOnFailure",
                "HealthRetries",
                "HealthStartPeriod",
                "HealthTimeout",
                "HostName",
                "IP",
                "Image",
                "Label",
                "LogDriver",
                "LogOpt",
                "Mask",
                "Memory",
                "Mount",
                "Network",
                "NetworkAlias",
                "NoNewPrivileges",
                "Notify",
                "PidsLimit",
                "Pod",
                "PodmanArgs",
                "PublishPort",
                "Pull",
                "ReadOnly",
                "RunInit",
                "SeccompProfile",
                "ServiceName",
                "StartWithPod",
                "StopSignal",
                "StopTimeout",
                "Timezone",
                "Tmpfs",
                "Unmask",
                "User",
                "Volume",
                "WorkingDir",
                "ContainersConfModule",
            ],
            Kind::Volume => &[
                "ContainersConfModule",
                "Copy",
                "Device",
                "Driver",
                "GlobalArgs",
                "Group",
                "Label",
                "Options",
                "PodmanArgs",
                "ServiceName",
                "Type",
                "User",
                "VolumeName",
            ],
            Kind::Network => &[
                "ContainersConfModule",
                "DisableDNS",
                "Driver",
                "Gateway",
                "GlobalArgs",
                "IPv6",
                "InterfaceName",
                "Internal",
                "Label",
                "NetworkDeleteOnStop",
                "NetworkName",
                "Options",
                "PodmanArgs",
                "ServiceName",
                "Subnet",
            ],
            Kind::Pod => &[
                "AddHost",
                "ContainersConfModule",
                "DNS",
                "DNSOption",
                "DNSSearch",
                "ExitPolicy",
                "GlobalArgs",
                "HostName",
                "IP",
                "Label",
                "Network",
                "NetworkAlias",
                "PodName",
                "PodmanArgs",
                "PublishPort",
                "ServiceName",
                "Volume",
            ],
            Kind::Kube => &[
                "ConfigMap",
                "ContainersConfModule",
                "GlobalArgs",
                "KubeDownForce",
                "Network",
                "PodmanArgs",
                "PublishPort",
                "ServiceName",
                "SetWorkingDirectory",
                "Yaml",
            ],
            Kind::Image => &[
                "AllTags",
                "Arch",
                "AuthFile",
                "CertDir",
                "ContainersConfModule",
                "Creds",
                "GlobalArgs",
                "Image",
                "ImageTag",
                "OS",
                "PodmanArgs",
                "ServiceName",
                "TLSVerify",
                "Variant",
            ],
            Kind::Build => &[
                "Arch",
                "AuthFile",
                "ContainersConfModule",
                "Environment",
                "File",
                "GlobalArgs",
                "ImageTag",
                "Label",
                "Network",
                "PodmanArgs",
                "Pull",
                "ServiceName",
                "SetWorkingDirectory",
                "Target",
                "TLSVerify",
            ],
        }
    }
}

/// A Quadlet file found on disk.
#[derive(Debug, Clone)]
pub struct QuadletFile {
    pub path: PathBuf,
    pub kind: Kind,
    pub unit: UnitFile,
}

impl QuadletFile {
    pub fn read(path: &Path) -> Result<Self, String> {
        let kind = Kind::from_path(path)
            .ok_or_else(|| format!("{}: not a Quadlet file", path.display()))?;
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let unit = UnitFile::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            kind,
            unit,
        })
    }

    /// `web` of `web.container`.
    pub fn base(&self) -> String {
        self.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The service the generator makes of it (`web.service`).
    pub fn service_name(&self) -> String {
        format!("{}.service", self.service_base())
    }

    fn service_base(&self) -> String {
        self.unit
            .get(self.kind.group(), "ServiceName")
            .map(str::to_string)
            .unwrap_or_else(|| self.kind.service(&self.base()))
    }
}

/// A generated service: its file name and text, and the units that want or require it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub text: String,
    /// (`wants` or `requires`, target unit) from the file's `[Install]`.
    pub install: Vec<(&'static str, String)>,
}

/// What converting a set of files gave.
#[derive(Debug, Clone, Default)]
pub struct Converted {
    pub services: Vec<Service>,
    /// Keys skiff ignores, each naming the file and key.
    pub warnings: Vec<String>,
    /// Files that gave no service, each naming the file and why.
    pub errors: Vec<String>,
}

/// What another file's reference (`data.volume`, `net.network`, `app.pod`, `base.image`)
/// stands for: the resource's name and its service.
#[derive(Debug, Clone)]
struct Resource {
    name: String,
    service: String,
}

/// Converts the files (each file name once: the first found wins, as in the search paths'
/// order). `skiff` is the program the services run.
pub fn convert(files: &[QuadletFile], skiff: &str) -> Converted {
    let mut converted = Converted::default();
    let mut resources: BTreeMap<String, Resource> = BTreeMap::new();
    let mut ordered: Vec<&QuadletFile> = files.iter().collect();
    ordered.sort_by_key(|f| f.kind);
    for file in &ordered {
        let name = match file.kind {
            Kind::Volume => file.unit.get("Volume", "VolumeName"),
            Kind::Network => file.unit.get("Network", "NetworkName"),
            Kind::Pod => file.unit.get("Pod", "PodName"),
            Kind::Image => file
                .unit
                .get("Image", "ImageTag")
                .or(file.unit.get("Image", "Image")),
            Kind::Build => file.unit.get("Build", "ImageTag"),
            Kind::Container | Kind::Kube => None,
        }
        .map(str::to_string)
        .unwrap_or_else(|| format!("systemd-{}", file.base()));
        resources.insert(
            file.file_name(),
            Resource {
                name,
                service: file.service_name(),
            },
        );
    }
    for file in ordered {
        for key in file.unit.keys(file.kind.group()) {
            if !file.kind.supported().contains(&key) {
                converted.warnings.push(format!(
                    "{}: key {key} in [{}] is not supported by skiff and is ignored",
                    file.path.display(),
                    file.kind.group()
                ));
            }
        }
        let mut context = Context {
            file,
            skiff,
            resources: &resources,
            service: UnitFile::default(),
        };
        match context.convert() {
            Ok(service) => converted.services.push(service),
            Err(message) => converted
                .errors
                .push(format!("{}: {message}", file.path.display())),
        }
    }
    converted
}

struct Context<'a> {
    file: &'a QuadletFile,
    skiff: &'a str,
    resources: &'a BTreeMap<String, Resource>,
    /// The unit being written: the file's own sections, its Quadlet section kept as X-...
    service: UnitFile,
}

/// `--flag value` for each of these keys' values.
type Flags = &'static [(&'static str, &'static str)];

impl Context<'_> {
    fn group(&self) -> &'static str {
        self.file.kind.group()
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.file.unit.get(self.group(), key)
    }

    fn all(&self, key: &str) -> Vec<&str> {
        self.file.unit.all(self.group(), key)
    }

    fn boolean(&self, key: &str) -> Result<bool, String> {
        Ok(self.file.unit.boolean(self.group(), key)?.unwrap_or(false))
    }

    /// skiff and the file's `GlobalArgs`.
    fn base_command(&self) -> Result<Vec<String>, String> {
        let mut words = vec![self.skiff.to_string()];
        words.extend(self.file.unit.all_words(self.group(), "GlobalArgs")?);
        Ok(words)
    }

    /// The file's `PodmanArgs`, last before the positional arguments.
    fn extra_args(&self) -> Result<Vec<String>, String> {
        self.file.unit.all_words(self.group(), "PodmanArgs")
    }

    fn add_flags(&self, command: &mut Vec<String>, flags: Flags) {
        for (key, flag) in flags {
            for value in self.all(key) {
                command.push(format!("{flag}={value}"));
            }
        }
    }

    /// The service's ExecStart: `command`, the file's `PodmanArgs`, then `positional`.
    fn exec_start(
        &mut self,
        mut command: Vec<String>,
        positional: impl IntoIterator<Item = String>,
    ) -> Result<(), String> {
        command.extend(self.extra_args()?);
        command.extend(positional);
        self.service
            .add("Service", "ExecStart", &command_line(&command));
        Ok(())
    }

    /// `KEY=VALUE` words of these keys (Environment=, Label=), each as `--flag KEY=VALUE`.
    fn add_assignments(
        &self,
        command: &mut Vec<String>,
        key: &str,
        flag: &str,
    ) -> Result<(), String> {
        for word in self.file.unit.all_words(self.group(), key)? {
            command.push(flag.to_string());
            command.push(word);
        }
        Ok(())
    }

    /// A reference to another Quadlet file: its resource's name, with this service made to
    /// require and follow that one's.
    fn resolve(&mut self, value: &str) -> Result<String, String> {
        let Some(kind) = Kind::from_path(Path::new(value)) else {
            return Ok(value.to_string());
        };
        let resource = self
            .resources
            .get(value)
            .ok_or_else(|| format!("requires {value}, which is not in the search paths"))?;
        let relation = if kind == Kind::Pod {
            "BindsTo"
        } else {
            "Requires"
        };
        self.service.add("Unit", relation, &resource.service);
        self.service.add("Unit", "After", &resource.service);
        Ok(resource.name.clone())
    }

    /// The file's sections, its own renamed `X-...`, and where it came from.
    fn start(&mut self) {
        self.service = self.file.unit.clone();
        self.service
            .rename_section(self.group(), &format!("X-{}", self.group()));
        self.service
            .add("Unit", "SourcePath", &self.file.path.display().to_string());
        self.service
            .add("Unit", "RequiresMountsFor", "%t/containers");
    }

    fn finish(mut self) -> Service {
        let mut install = Vec::new();
        for (relation, key) in [("wants", "WantedBy"), ("requires", "RequiredBy")] {
            for target in self.file.unit.all("Install", key) {
                for target in target.split_whitespace() {
                    install.push((relation, target.to_string()));
                }
            }
        }
        // Generated units cannot be enabled: [Install] is what the generator already did.
        self.service.sections.retain(|s| s.name != "Install");
        let name = self.file.service_name();
        let text = format!(
            "# Automatically generated by skiff-quadlet\n#\n{}",
            self.service.to_text()
        );
        Service {
            name,
            text,
            install,
        }
    }

    fn oneshot(&mut self) {
        for (key, value) in [
            ("Type", "oneshot"),
            ("RemainAfterExit", "yes"),
            ("SyslogIdentifier", "%N"),
        ] {
            if !self.file.unit.has("Service", key) {
                self.service.set("Service", key, value);
            }
        }
    }

    fn convert(&mut self) -> Result<Service, String> {
        self.start();
        match self.file.kind {
            Kind::Container => self.container()?,
            Kind::Volume => self.volume()?,
            Kind::Network => self.network()?,
            Kind::Pod => self.pod()?,
            Kind::Kube => self.kube()?,
            Kind::Image => self.image()?,
            Kind::Build => self.build()?,
        }
        let context = Context {
            file: self.file,
            skiff: self.skiff,
            resources: self.resources,
            service: std::mem::take(&mut self.service),
        };
        Ok(context.finish())
    }

    fn container(&mut self) -> Result<(), String> {
        let image = self
            .get("Image")
            .ok_or("no Image key specified")?
            .to_string();
        let image = self.resolve(&image)?;
        let name = self
            .get("ContainerName")
            .unwrap_or("systemd-%N")
            .to_string();
        let kill_mode = self.file.unit.get("Service", "KillMode");
        if let Some(mode) = kill_mode.filter(|m| !matches!(*m, "mixed" | "control-group")) {
            return Err(format!("invalid KillMode '{mode}'"));
        }
        self.service
            .add("Service", "Environment", "PODMAN_SYSTEMD_UNIT=%n");
        if kill_mode.is_none() {
            self.service.set("Service", "KillMode", "mixed");
        }
        let mut stop = self.base_command()?;
        stop.extend(["rm", "-v", "-f", "-i", &name].map(String::from));
        self.service
            .add("Service", "ExecStop", &command_line(&stop));
        stop[0] = format!("-{}", stop[0]);
        self.service
            .add("Service", "ExecStopPost", &command_line(&stop));
        self.service.add("Service", "Delegate", "yes");
        let mut run = self.base_command()?;
        run.extend(["run", "--name", &name, "--replace", "--rm"].map(String::from));
        self.add_flags(
            &mut run,
            &[
                ("LogDriver", "--log-driver"),
                ("LogOpt", "--log-opt"),
                ("Timezone", "--tz"),
                ("PidsLimit", "--pids-limit"),
                ("Entrypoint", "--entrypoint"),
                ("WorkingDir", "--workdir"),
                ("IP", "--ip"),
                ("HostName", "--hostname"),
                ("StopSignal", "--stop-signal"),
                ("StopTimeout", "--stop-timeout"),
                ("Pull", "--pull"),
                ("Memory", "--memory"),
                ("NetworkAlias", "--network-alias"),
                ("DNS", "--dns"),
                ("DNSOption", "--dns-option"),
                ("DNSSearch", "--dns-search"),
                ("AddHost", "--add-host"),
                ("Tmpfs", "--tmpfs"),
            ],
        );
        if self.boolean("RunInit")? {
            run.push("--init".into());
        }
        for network in self
            .all("Network")
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
        {
            let (target, options) = match network.split_once(':') {
                Some((target, options)) => (target.to_string(), format!(":{options}")),
                None => (network.clone(), String::new()),
            };
            run.push(format!("--network={}{options}", self.resolve(&target)?));
        }
        let oneshot = self.file.unit.get("Service", "Type") == Some("oneshot");
        match self.file.unit.get("Service", "Type") {
            None | Some("notify" | "oneshot") => {}
            Some(other) => return Err(format!("invalid service Type '{other}'")),
        }
        if !oneshot {
            let notify = match self.get("Notify") {
                Some(value) if value.eq_ignore_ascii_case("healthy") => {
                    return Err("Notify=healthy is not supported by skiff yet".into());
                }
                _ if self.boolean("Notify")? => "--sdnotify=container",
                _ => "--sdnotify=conmon",
            };
            run.push(notify.into());
            self.service.set("Service", "Type", "notify");
            self.service.set("Service", "NotifyAccess", "all");
            run.push("-d".into());
        }
        if !self.file.unit.has("Service", "SyslogIdentifier") {
            self.service.set("Service", "SyslogIdentifier", "%N");
        }
        if self.boolean("NoNewPrivileges")? {
            run.push("--security-opt=no-new-privileges".into());
        }
        if let Some(profile) = self.get("SeccompProfile") {
            run.push("--security-opt".into());
            run.push(format!("seccomp={profile}"));
        }
        for (key, flag) in [
            ("DropCapability", "--cap-drop"),
            ("AddCapability", "--cap-add"),
        ] {
            for capability in self.file.unit.all_words(self.group(), key)? {
                run.push(flag.into());
                run.push(capability.to_ascii_lowercase());
            }
        }
        if self.boolean("ReadOnly")? {
            run.push("--read-only".into());
        }
        match (self.get("User"), self.get("Group")) {
            (Some(user), Some(group)) => run.push(format!("--user={user}:{group}")),
            (Some(user), None) => run.push(format!("--user={user}")),
            (None, Some(_)) => return Err("Group set without User".into()),
            (None, None) => {}
        }
        for volume in self
            .all("Volume")
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
        {
            let mut parts = volume.splitn(2, ':');
            let source = parts.next().unwrap_or_default().to_string();
            let rest = parts.next().map(|r| format!(":{r}")).unwrap_or_default();
            let source = if source.starts_with('/') {
                self.service.add("Unit", "RequiresMountsFor", &source);
                source
            } else {
                self.resolve(&source)?
            };
            run.push("-v".into());
            run.push(format!("{source}{rest}"));
        }
        if let Some(update) = self.get("AutoUpdate") {
            run.push("--label".into());
            run.push(format!("io.containers.autoupdate={update}"));
        }
        for port in self.all("PublishPort") {
            run.push(format!("--publish={}", port.trim()));
        }
        self.add_assignments(&mut run, "Environment", "--env")?;
        self.add_assignments(&mut run, "Label", "--label")?;
        for (key, option) in [("Mask", "mask"), ("Unmask", "unmask")] {
            for path in self.file.unit.all_words(self.group(), key)? {
                run.push("--security-opt".into());
                run.push(format!("{option}={path}"));
            }
        }
        for file in self.all("EnvironmentFile") {
            run.push("--env-file".into());
            run.push(self.absolute(file));
        }
        for mount in self
            .all("Mount")
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
        {
            let mut fields = Vec::new();
            for field in mount.split(',') {
                match field.split_once('=') {
                    Some((key @ ("source" | "src"), value))
                        if Kind::from_path(Path::new(value)).is_some() =>
                    {
                        fields.push(format!("{key}={}", self.resolve(value)?));
                    }
                    _ => fields.push(field.to_string()),
                }
            }
            run.push("--mount".into());
            run.push(fields.join(","));
        }
        self.add_flags(
            &mut run,
            &[
                ("HealthCmd", "--health-cmd"),
                ("HealthInterval", "--health-interval"),
                ("HealthOnFailure", "--health-on-failure"),
                ("HealthRetries", "--health-retries"),
                ("HealthStartPeriod", "--health-start-period"),
                ("HealthTimeout", "--health-timeout"),
            ],
        );
        if let Some(pod) = self.get("Pod").map(str::to_string) {
            if Kind::from_path(Path::new(&pod)) != Some(Kind::Pod) {
                return Err(format!("Pod={pod}: a .pod file is required"));
            }
            run.push(format!("--pod={}", self.resolve(&pod)?));
        }
        let mut positional = vec![image];
        positional.extend(self.file.unit.all_words(self.group(), "Exec")?);
        self.exec_start(run, positional)
    }

    fn absolute(&self, path: &str) -> String {
        let path = Path::new(path);
        if path.is_absolute() {
            return path.display().to_string();
        }
        self.file
            .path
            .parent()
            .unwrap_or(Path::new("/"))
            .join(path)
            .display()
            .to_string()
    }

    fn volume(&mut self) -> Result<(), String> {
        let name = self.resources[&self.file.file_name()].name.clone();
        let mut create = self.base_command()?;
        create.extend(["volume", "create", "--ignore"].map(String::from));
        if let Some(driver) = self.get("Driver") {
            create.push(format!("--driver={driver}"));
        }
        let mut o = Vec::new();
        for (key, option) in [("User", "uid"), ("Group", "gid")] {
            if let Some(value) = self.get(key) {
                o.push(format!("{option}={value}"));
            }
        }
        if let Some(options) = self.get("Options") {
            o.push(options.to_string());
        }
        if !o.is_empty() {
            create.push("--opt".into());
            create.push(format!("o={}", o.join(",")));
        }
        if let Some(copy) = self.file.unit.boolean(self.group(), "Copy")? {
            create.push("--opt".into());
            create.push(if copy { "copy" } else { "nocopy" }.into());
        }
        let device = self.get("Device").map(str::to_string);
        let kind = self.get("Type").map(str::to_string);
        match (device.as_deref(), kind.as_deref()) {
            (Some(device), kind) => {
                create.push("--opt".into());
                create.push(format!("device={device}"));
                if let Some(kind) = kind {
                    create.push("--opt".into());
                    create.push(format!("type={kind}"));
                    if kind == "bind" {
                        self.service.add("Unit", "RequiresMountsFor", device);
                    }
                }
            }
            (None, Some(_)) => return Err("key Type can't be used without Device".into()),
            (None, None) => {}
        }
        self.add_assignments(&mut create, "Label", "--label")?;
        self.exec_start(create, [name])?;
        self.oneshot();
        Ok(())
    }

    fn network(&mut self) -> Result<(), String> {
        let name = self.resources[&self.file.file_name()].name.clone();
        if self.boolean("NetworkDeleteOnStop")? {
            let mut remove = self.base_command()?;
            remove.extend(["network", "rm", &name].map(String::from));
            self.service
                .add("Service", "ExecStopPost", &command_line(&remove));
        }
        let mut create = self.base_command()?;
        create.extend(["network", "create", "--ignore"].map(String::from));
        for (key, flag) in [
            ("DisableDNS", "--disable-dns"),
            ("Internal", "--internal"),
            ("IPv6", "--ipv6"),
        ] {
            if self.boolean(key)? {
                create.push(flag.into());
            }
        }
        self.add_flags(
            &mut create,
            &[
                ("Driver", "--driver"),
                ("InterfaceName", "--interface-name"),
            ],
        );
        let (subnets, gateways) = (self.all("Subnet"), self.all("Gateway"));
        if gateways.len() > subnets.len() {
            return Err("cannot set more gateways than subnets".into());
        }
        for (index, subnet) in subnets.iter().enumerate() {
            create.push(format!("--subnet={subnet}"));
            if let Some(gateway) = gateways.get(index) {
                create.push(format!("--gateway={gateway}"));
            }
        }
        for option in self.file.unit.all_words(self.group(), "Options")? {
            create.push("--opt".into());
            create.push(option);
        }
        self.add_assignments(&mut create, "Label", "--label")?;
        self.exec_start(create, [name])?;
        self.oneshot();
        Ok(())
    }

    fn pod(&mut self) -> Result<(), String> {
        let name = self.resources[&self.file.file_name()].name.clone();
        let base = self.base_command()?;
        let mut create = base.clone();
        create.extend(["pod", "create", "--replace"].map(String::from));
        create.push(format!("--infra-name={name}-infra"));
        create.push(format!("--name={name}"));
        create.push(format!(
            "--exit-policy={}",
            self.get("ExitPolicy").unwrap_or("stop")
        ));
        self.add_flags(
            &mut create,
            &[
                ("PublishPort", "--publish"),
                ("AddHost", "--add-host"),
                ("DNS", "--dns"),
                ("DNSOption", "--dns-option"),
                ("DNSSearch", "--dns-search"),
                ("HostName", "--hostname"),
                ("IP", "--ip"),
                ("NetworkAlias", "--network-alias"),
            ],
        );
        for network in self
            .all("Network")
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
        {
            create.push(format!("--network={}", self.resolve(&network)?));
        }
        for volume in self
            .all("Volume")
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
        {
            let (source, rest) = volume.split_once(':').unwrap_or((&volume, ""));
            let source = if source.starts_with('/') {
                source.to_string()
            } else {
                self.resolve(source)?
            };
            create.push("-v".into());
            create.push(if rest.is_empty() {
                source
            } else {
                format!("{source}:{rest}")
            });
        }
        self.add_assignments(&mut create, "Label", "--label")?;
        create.extend(self.extra_args()?);
        let command = |words: &[&str]| {
            let mut all = base.clone();
            all.extend(words.iter().map(|w| w.to_string()));
            command_line(&all)
        };
        self.service
            .add("Service", "Environment", "PODMAN_SYSTEMD_UNIT=%n");
        self.service
            .add("Service", "ExecStartPre", &command_line(&create));
        self.service
            .add("Service", "ExecStart", &command(&["pod", "start", &name]));
        self.service.add(
            "Service",
            "ExecStop",
            &command(&["pod", "stop", "--ignore", "--time=10", &name]),
        );
        self.service.add(
            "Service",
            "ExecStopPost",
            &command(&["pod", "rm", "--ignore", "--force", &name]),
        );
        // Daemonless: `pod start` returns once the pod runs, its monitors staying behind.
        self.service.set("Service", "Type", "forking");
        if !self.file.unit.has("Service", "SyslogIdentifier") {
            self.service.set("Service", "SyslogIdentifier", "%N");
        }
        Ok(())
    }

    fn kube(&mut self) -> Result<(), String> {
        let yaml = self.get("Yaml").ok_or("no Yaml key specified")?;
        let yaml = self.absolute(yaml);
        self.service.add("Unit", "RequiresMountsFor", &yaml);
        let base = self.base_command()?;
        let mut play = base.clone();
        play.extend(["kube", "play", "--replace"].map(String::from));
        for network in self
            .all("Network")
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
        {
            play.push(format!("--network={}", self.resolve(&network)?));
        }
        for configmap in self.all("ConfigMap") {
            play.push("--configmap".into());
            play.push(self.absolute(configmap));
        }
        self.add_flags(&mut play, &[("PublishPort", "--publish")]);
        play.extend(self.extra_args()?);
        play.push(yaml.clone());
        let mut down = base;
        down.extend(["kube", "down"].map(String::from));
        if self.boolean("KubeDownForce")? {
            down.push("--force".into());
        }
        down.push(yaml.clone());
        if self.get("SetWorkingDirectory") == Some("yaml")
            && let Some(dir) = Path::new(&yaml).parent()
        {
            self.service
                .set("Service", "WorkingDirectory", &dir.display().to_string());
        }
        self.service
            .add("Service", "Environment", "PODMAN_SYSTEMD_UNIT=%n");
        self.service
            .add("Service", "ExecStart", &command_line(&play));
        self.service
            .add("Service", "ExecStop", &command_line(&down));
        // skiff's kube play returns once the pods run: the service stays active after it.
        self.oneshot();
        Ok(())
    }

    fn image(&mut self) -> Result<(), String> {
        let image = self
            .get("Image")
            .ok_or("no Image key specified")?
            .to_string();
        let mut pull = self.base_command()?;
        pull.extend(["image", "pull"].map(String::from));
        self.add_flags(
            &mut pull,
            &[
                ("Arch", "--arch"),
                ("AuthFile", "--authfile"),
                ("CertDir", "--cert-dir"),
                ("Creds", "--creds"),
                ("OS", "--os"),
                ("TLSVerify", "--tls-verify"),
                ("Variant", "--variant"),
            ],
        );
        self.exec_start(pull, [image])?;
        self.oneshot();
        Ok(())
    }

    fn build(&mut self) -> Result<(), String> {
        let tag = self
            .get("ImageTag")
            .ok_or("no ImageTag key specified")?
            .to_string();
        let mut build = self.base_command()?;
        build.extend(["build", "--tag", &tag].map(String::from));
        self.add_flags(
            &mut build,
            &[
                ("Arch", "--arch"),
                ("AuthFile", "--authfile"),
                ("Pull", "--pull"),
                ("Target", "--target"),
                ("TLSVerify", "--tls-verify"),
            ],
        );
        for network in self
            .all("Network")
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
        {
            build.push(format!("--network={}", self.resolve(&network)?));
        }
        for file in self.all("File") {
            build.push("--file".into());
            build.push(self.absolute(file));
        }
        self.add_assignments(&mut build, "Label", "--label")?;
        self.add_assignments(&mut build, "Environment", "--build-arg")?;
        let context = match self.get("SetWorkingDirectory") {
            Some("file") | None => self
                .file
                .path
                .parent()
                .unwrap_or(Path::new("/"))
                .display()
                .to_string(),
            Some(dir) => self.absolute(dir),
        };
        self.exec_start(build, [context])?;
        self.oneshot();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> QuadletFile {
        QuadletFile {
            path: PathBuf::from(format!("/etc/containers/systemd/{name}")),
            kind: Kind::from_path(Path::new(name)).unwrap(),
            unit: UnitFile::parse(text).unwrap(),
        }
    }

    fn service<'a>(converted: &'a Converted, name: &str) -> &'a Service {
        converted
            .services
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name}: {converted:?}"))
    }

    #[test]
    fn a_container_becomes_podmans_service_with_skiff_in_it() {
        let files = [
            file(
                "web.container",
                "[Unit]\nDescription=Web\n[Container]\nImage=busybox\nExec=httpd -f -p 80\nVolume=data.volume:/www:ro\nNetwork=net.network\nPublishPort=8080:80\nEnvironment=A=1 \"B=two words\"\nLabel=tier=web\nDropCapability=ALL\nAddCapability=NET_BIND_SERVICE\nSysctl=net.ipv4.ip_forward=1\n[Install]\nWantedBy=multi-user.target default.target\n",
            ),
            file("data.volume", "[Volume]\nLabel=keep=yes\n"),
            file(
                "net.network",
                "[Network]\nSubnet=10.89.7.0/24\nGateway=10.89.7.1\n",
            ),
        ];
        let converted = convert(&files, "/usr/bin/skiff");
        assert_eq!(
            converted.warnings,
            [
                "/etc/containers/systemd/web.container: key Sysctl in [Container] is not supported by skiff and is ignored"
            ]
        );
        let web = service(&converted, "web.service");
        let unit = UnitFile::parse(&web.text).unwrap();
        assert_eq!(
            unit.get("Service", "ExecStart"),
            Some(
                "/usr/bin/skiff run --name systemd-%N --replace --rm --network=systemd-net --sdnotify=conmon -d --cap-drop all --cap-add net_bind_service -v systemd-data:/www:ro --publish=8080:80 --env A=1 --env \"B=two words\" --label tier=web busybox httpd -f -p 80"
            )
        );
        assert_eq!(
            unit.get("Service", "ExecStop"),
            Some("/usr/bin/skiff rm -v -f -i systemd-%N")
        );
        assert_eq!(
            unit.get("Service", "ExecStopPost"),
            Some("-/usr/bin/skiff rm -v -f -i systemd-%N")
        );
        assert_eq!(unit.get("Service", "Type"), Some("notify"));
        assert_eq!(
            unit.all("Unit", "Requires"),
            ["net-network.service", "data-volume.service"]
        );
        assert_eq!(unit.get("X-Container", "Image"), Some("busybox"));
        assert_eq!(unit.get("Unit", "Description"), Some("Web"));
        assert!(!web.text.contains("[Install]"));
        assert_eq!(
            web.install,
            [
                ("wants", "multi-user.target".to_string()),
                ("wants", "default.target".to_string())
            ]
        );
        let volume = UnitFile::parse(&service(&converted, "data-volume.service").text).unwrap();
        assert_eq!(
            volume.get("Service", "ExecStart"),
            Some("/usr/bin/skiff volume create --ignore --label keep=yes systemd-data")
        );
        assert_eq!(volume.get("Service", "Type"), Some("oneshot"));
        let network = UnitFile::parse(&service(&converted, "net-network.service").text).unwrap();
        assert_eq!(
            network.get("Service", "ExecStart"),
            Some(
                "/usr/bin/skiff network create --ignore --subnet=10.89.7.0/24 --gateway=10.89.7.1 systemd-net"
            )
        );
    }

    #[test]
    fn pods_kube_images_and_errors() {
        let files = [
            file("app.pod", "[Pod]\nPublishPort=9000:80\n"),
            file(
                "member.container",
                "[Container]\nImage=base.image\nPod=app.pod\nContainerName=member\n",
            ),
            file("base.image", "[Image]\nImage=localhost/busybox\n"),
            file("play.kube", "[Kube]\nYaml=app.yaml\n"),
            file("bad.container", "[Container]\nExec=true\n"),
            file(
                "lost.container",
                "[Container]\nImage=busybox\nVolume=gone.volume:/x\n",
            ),
        ];
        let converted = convert(&files, "skiff");
        assert_eq!(converted.warnings, Vec::<String>::new());
        assert_eq!(
            converted.errors,
            [
                "/etc/containers/systemd/bad.container: no Image key specified",
                "/etc/containers/systemd/lost.container: requires gone.volume, which is not in the search paths",
            ]
        );
        let pod = UnitFile::parse(&service(&converted, "app-pod.service").text).unwrap();
        assert_eq!(
            pod.get("Service", "ExecStartPre"),
            Some(
                "skiff pod create --replace --infra-name=systemd-app-infra --name=systemd-app --exit-policy=stop --publish=9000:80"
            )
        );
        assert_eq!(
            pod.get("Service", "ExecStart"),
            Some("skiff pod start systemd-app")
        );
        let member = UnitFile::parse(&service(&converted, "member.service").text).unwrap();
        assert!(
            member
                .get("Service", "ExecStart")
                .unwrap()
                .ends_with("--pod=systemd-app localhost/busybox")
        );
        assert_eq!(member.all("Unit", "BindsTo"), ["app-pod.service"]);
        assert_eq!(member.all("Unit", "Requires"), ["base-image.service"]);
        let kube = UnitFile::parse(&service(&converted, "play.service").text).unwrap();
        assert_eq!(
            kube.get("Service", "ExecStart"),
            Some("skiff kube play --replace /etc/containers/systemd/app.yaml")
        );
        assert_eq!(
            kube.get("Service", "ExecStop"),
            Some("skiff kube down /etc/containers/systemd/app.yaml")
        );
        let image = UnitFile::parse(&service(&converted, "base-image.service").text).unwrap();
        assert_eq!(
            image.get("Service", "ExecStart"),
            Some("skiff image pull localhost/busybox")
        );
    }
}
