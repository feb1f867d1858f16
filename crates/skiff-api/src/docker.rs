//! Docker's JSON shapes (the Engine API's ContainerSummary, ContainerInspectResponse,
//! ImageSummary, ImageInspect, SystemVersion, SystemInfo), made from the engine's typed
//! reports. The API's presentation lives here and nowhere else.
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use skiff_engine::{
    ContainerReport, ContainerState, ImageReport, InfoReport, MountSpec, NetworkMode, VersionReport,
};

/// The newest API version served, and the oldest.
pub const API_VERSION: &str = "1.44";
pub const MIN_API_VERSION: &str = "1.24";

/// Go's zero time, as Docker prints a time that never was.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn rfc3339(time: Option<DateTime<Utc>>) -> String {
    time.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
        .unwrap_or_else(|| ZERO_TIME.to_string())
}

/// Image IDs carry their algorithm in Docker's API.
pub fn image_id(id: &str) -> String {
    if id.starts_with("sha256:") {
        id.to_string()
    } else {
        format!("sha256:{id}")
    }
}

/// `80/tcp` → `[{"HostIp": "", "HostPort": "8080"}]` for each published port.
fn port_bindings(c: &ContainerReport) -> Map<String, Value> {
    let mut ports = Map::new();
    for p in &c.spec().ports {
        let entry = ports
            .entry(format!("{}/{}", p.container_port, p.protocol))
            .or_insert_with(|| json!([]));
        if let Value::Array(list) = entry {
            let ip = if p.host_ip.is_empty() {
                "0.0.0.0"
            } else {
                &p.host_ip
            };
            list.push(json!({"HostIp": ip, "HostPort": p.host_port.to_string()}));
        }
    }
    ports
}

/// `HostConfig.NetworkMode`: Docker calls the default network `bridge`.
fn network_mode(c: &ContainerReport) -> String {
    match &c.spec().network {
        NetworkMode::Bridge(networks) => networks
            .first()
            .map(|n| n.network.clone())
            .unwrap_or_else(|| "bridge".into()),
        other => other.name(),
    }
}

fn networks(c: &ContainerReport) -> Map<String, Value> {
    let mut out = Map::new();
    let attachments = match &c.spec().network {
        NetworkMode::Bridge(list) => list.as_slice(),
        _ => &[],
    };
    for attachment in attachments {
        let address = c.addresses.iter().find(|a| a.network == attachment.network);
        let ipv6 = address.and_then(|a| a.ipv6.as_ref());
        out.insert(
            attachment.network.clone(),
            json!({
                "IPAMConfig": null,
                "Links": null,
                "Aliases": attachment.aliases,
                "NetworkID": attachment.network,
                "EndpointID": "",
                "Gateway": address.map(|a| a.gateway.to_string()).unwrap_or_default(),
                "IPAddress": address.map(|a| a.address.to_string()).unwrap_or_default(),
                "IPPrefixLen": address.map(|a| a.prefix).unwrap_or(0),
                "IPv6Gateway": ipv6.map(|a| a.gateway.to_string()).unwrap_or_default(),
                "GlobalIPv6Address": ipv6.map(|a| a.address.to_string()).unwrap_or_default(),
                "GlobalIPv6PrefixLen": ipv6.map(|a| a.prefix).unwrap_or(0),
                "MacAddress": address.map(|a| a.mac.clone()).unwrap_or_default(),
                "DriverOpts": null,
            }),
        );
    }
    out
}

/// Docker's `Mounts` entries: binds, volumes and images.
fn mounts(c: &ContainerReport, volume_dir: &str) -> Vec<Value> {
    c.spec()
        .mounts
        .iter()
        .filter_map(|mount| {
            let rw = |options: &[String]| !options.iter().any(|o| o == "ro");
            match mount {
                MountSpec::Bind {
                    source,
                    destination,
                    options,
                } => Some(json!({
                    "Type": "bind",
                    "Source": source,
                    "Destination": destination,
                    "Mode": "",
                    "RW": rw(options),
                    "Propagation": "rprivate",
                })),
                MountSpec::Volume {
                    name,
                    destination,
                    options,
                    ..
                } => Some(json!({
                    "Type": "volume",
                    "Name": name,
                    "Source": format!("{volume_dir}/{name}/_data"),
                    "Destination": destination,
                    "Driver": "local",
                    "Mode": "",
                    "RW": rw(options),
                    "Propagation": "",
                })),
                MountSpec::Image {
                    source,
                    destination,
                    read_write,
                    ..
                } => Some(json!({
                    "Type": "image",
                    "Source": source,
                    "Destination": destination,
                    "Mode": "",
                    "RW": read_write,
                    "Propagation": "",
                })),
                MountSpec::Tmpfs { .. } => None,
            }
        })
        .collect()
}

/// `Binds` of HostConfig: `SOURCE:DESTINATION[:OPTIONS]`.
fn binds(c: &ContainerReport) -> Vec<String> {
    c.spec()
        .mounts
        .iter()
        .filter_map(|mount| {
            let (source, destination, options) = match mount {
                MountSpec::Bind {
                    source,
                    destination,
                    options,
                } => (source, destination, options),
                MountSpec::Volume {
                    name,
                    destination,
                    options,
                    anonymous: false,
                } => (name, destination, options),
                _ => return None,
            };
            Some(if options.is_empty() {
                format!("{source}:{destination}")
            } else {
                format!("{source}:{destination}:{}", options.join(","))
            })
        })
        .collect()
}

/// `GET /containers/json`: one ContainerSummary.
pub fn container_summary(c: &ContainerReport, now: DateTime<Utc>) -> Value {
    let (image_id_, image_name) = c.image();
    json!({
        "Id": c.id(),
        "Names": [format!("/{}", c.name())],
        "Image": image_name,
        "ImageID": image_id(image_id_),
        "Command": c.command.join(" "),
        "Created": c.created().timestamp(),
        "Ports": c.spec().ports.iter().map(|p| {
            let mut port = json!({
                "PrivatePort": p.container_port,
                "PublicPort": p.host_port,
                "Type": p.protocol,
            });
            port["IP"] = json!(if p.host_ip.is_empty() { "0.0.0.0" } else { p.host_ip.as_str() });
            port
        }).collect::<Vec<_>>(),
        "Labels": c.spec().labels,
        "State": c.state.as_str(),
        "Status": c.status(now),
        "HostConfig": {"NetworkMode": network_mode(c)},
        "NetworkSettings": {"Networks": networks(c)},
        "Mounts": mounts(c, ""),
    })
}

/// `GET /containers/{id}/json`: ContainerInspectResponse.
pub fn container_inspect(c: &ContainerReport) -> Value {
    let spec = c.spec();
    let (image_id_, image_name) = c.image();
    let running = c.is_running();
    let mut state = json!({
        "Status": c.state.as_str(),
        "Running": running,
        "Paused": c.state == ContainerState::Paused,
        "Restarting": false,
        "OOMKilled": c.oom_killed(),
        "Dead": false,
        "Pid": c.pid(),
        "ExitCode": c.exit_code(),
        "Error": "",
        "StartedAt": rfc3339(c.started_at()),
        "FinishedAt": rfc3339(c.finished_at()),
    });
    if let Some(health) = &c.health {
        state["Health"] = json!(health);
    }
    let exposed: Map<String, Value> = spec
        .ports
        .iter()
        .map(|p| (format!("{}/{}", p.container_port, p.protocol), json!({})))
        .collect();
    let healthcheck = spec.healthcheck.as_ref().map(|check| {
        json!({
            "Test": check.test,
            "Interval": check.interval,
            "Timeout": check.timeout,
            "StartPeriod": check.start_period,
            "Retries": check.retries,
        })
    });
    let mut config = json!({
        "Hostname": spec.effective_hostname(c.id()),
        "Domainname": "",
        "User": spec.user.clone().unwrap_or_default(),
        "AttachStdin": false,
        "AttachStdout": false,
        "AttachStderr": false,
        "ExposedPorts": exposed,
        "Tty": spec.tty,
        "OpenStdin": spec.interactive,
        "StdinOnce": false,
        "Env": spec.env,
        "Cmd": spec.command,
        "Image": image_name,
        "Volumes": null,
        "WorkingDir": spec.workdir.clone().unwrap_or_default(),
        "Entrypoint": spec.entrypoint,
        "OnBuild": null,
        "Labels": spec.labels,
        "StopSignal": spec.stop_signal.clone().unwrap_or_else(|| "SIGTERM".into()),
        "StopTimeout": spec.stop_timeout.unwrap_or(10),
    });
    if let Some(healthcheck) = healthcheck {
        config["Healthcheck"] = healthcheck;
    }
    let paths = &c.paths;
    let mut network_settings = json!({
        "Bridge": "",
        "SandboxID": "",
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": port_bindings(c),
        "SandboxKey": "",
        "SecondaryIPAddresses": null,
        "SecondaryIPv6Addresses": null,
        "EndpointID": "",
        "Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "MacAddress": "",
        "Networks": networks(c),
    });
    if let Some(first) = c.addresses.first() {
        network_settings["Gateway"] = json!(first.gateway.to_string());
        network_settings["IPAddress"] = json!(first.address.to_string());
        network_settings["IPPrefixLen"] = json!(first.prefix);
        network_settings["MacAddress"] = json!(first.mac);
    }
    json!({
        "Id": c.id(),
        "Created": rfc3339(Some(c.created())),
        "Path": c.command.first().cloned().unwrap_or_default(),
        "Args": c.command.iter().skip(1).collect::<Vec<_>>(),
        "State": state,
        "Image": image_id(image_id_),
        "ResolvConfPath": format!("{}/resolv.conf", paths.userdata),
        "HostnamePath": format!("{}/hostname", paths.userdata),
        "HostsPath": format!("{}/hosts", paths.userdata),
        "LogPath": paths.log,
        "Name": format!("/{}", c.name()),
        "RestartCount": c.restart_count(),
        "Driver": "overlay",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": null,
        "HostConfig": {
            "Binds": binds(c),
            "ContainerIDFile": "",
            // Docker's clients read logs only from the drivers they know: the default
            // file (k8s-file, the format json-file also means here) is `json-file` to them.
            "LogConfig": {
                "Type": match spec.log.driver.as_str() {
                    "" | "k8s-file" => "json-file",
                    other => other,
                },
                "Config": {},
            },
            "NetworkMode": network_mode(c),
            "PortBindings": port_bindings(c),
            "RestartPolicy": {
                "Name": spec.restart.name(),
                "MaximumRetryCount": spec.restart.max_retries(),
            },
            "AutoRemove": spec.remove,
            "CapAdd": spec.cap_add,
            "CapDrop": spec.cap_drop,
            "Dns": spec.dns_servers,
            "DnsOptions": spec.dns_options,
            "DnsSearch": spec.dns_search,
            "ExtraHosts": spec.extra_hosts,
            "IpcMode": spec.ipc.name(),
            "PidMode": spec.pid.name(),
            "UTSMode": spec.uts.name(),
            "Privileged": spec.privileged,
            "PublishAllPorts": false,
            "ReadonlyRootfs": spec.read_only,
            "Memory": spec.memory.unwrap_or(0),
            "NanoCpus": spec.cpus.map(|cpus| (cpus * 1e9) as i64).unwrap_or(0),
            "PidsLimit": spec.pids_limit,
            "Init": spec.init,
        },
        "GraphDriver": {"Name": "overlay", "Data": {"MergedDir": paths.rootfs}},
        "Mounts": mounts(c, &paths.volumes),
        "Config": config,
        "NetworkSettings": network_settings,
    })
}

/// `GET /images/json`: one ImageSummary.
pub fn image_summary(image: &ImageReport) -> Value {
    let podman = image.list_json();
    json!({
        "Id": image_id(image.id()),
        "ParentId": "",
        "RepoTags": podman["RepoTags"],
        "RepoDigests": podman["RepoDigests"],
        "Created": podman["Created"],
        "Size": podman["Size"],
        "SharedSize": -1,
        "VirtualSize": podman["Size"],
        "Labels": podman["Labels"],
        "Containers": podman["Containers"],
    })
}

/// `GET /images/{name}/json`: ImageInspect.
pub fn image_inspect(image: &ImageReport) -> Value {
    let mut podman = image.inspect_json();
    if let Value::Object(map) = &mut podman {
        map.insert("Id".into(), json!(image_id(image.id())));
        for podman_only in [
            "Digest",
            "Labels",
            "Annotations",
            "ManifestType",
            "User",
            "History",
            "NamesHistory",
        ] {
            map.remove(podman_only);
        }
        map.insert("DockerVersion".into(), json!(""));
        map.insert("Metadata".into(), json!({"LastTagTime": ZERO_TIME}));
    }
    podman
}

/// `GET /version`.
pub fn version(version: &VersionReport, kernel: &str) -> Value {
    let arch = version.os_arch.split('/').nth(1).unwrap_or("amd64");
    json!({
        "Platform": {"Name": format!("skiff Engine {}", version.version)},
        "Components": [{
            "Name": "Engine",
            "Version": version.version,
            "Details": {
                "ApiVersion": API_VERSION,
                "MinAPIVersion": MIN_API_VERSION,
                "Arch": arch,
                "Os": "linux",
                "KernelVersion": kernel,
                "Experimental": "false",
                "GitCommit": version.git_commit,
                "GoVersion": "",
                "BuildTime": version.built_time,
            },
        }],
        "Version": version.version,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": version.git_commit,
        "GoVersion": "",
        "Os": "linux",
        "Arch": arch,
        "KernelVersion": kernel,
        "BuildTime": version.built_time,
    })
}

/// `GET /info`.
pub fn info(info: &InfoReport, images: usize) -> Value {
    let store = &info.store;
    let counts = &store.container_store;
    let host = &info.host;
    json!({
        "ID": "",
        "Containers": counts.number,
        "ContainersRunning": counts.running,
        "ContainersPaused": counts.paused,
        "ContainersStopped": counts.stopped,
        "Images": images,
        "Driver": store.graph_driver_name,
        "DriverStatus": [],
        "DockerRootDir": store.graph_root,
        "Plugins": {
            "Volume": ["local"],
            "Network": ["bridge", "host", "none", "container"],
            "Log": ["k8s-file", "json-file", "none"],
        },
        "MemoryLimit": true,
        "SwapLimit": true,
        "CpuCfsPeriod": true,
        "CpuCfsQuota": true,
        "CPUShares": true,
        "CPUSet": true,
        "PidsLimit": true,
        "IPv4Forwarding": true,
        "Debug": false,
        "NFd": 0,
        "NGoroutines": 0,
        "SystemTime": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        "LoggingDriver": host.log_driver,
        "CgroupDriver": host.cgroup_manager,
        "CgroupVersion": host.cgroup_version.trim_start_matches('v'),
        "NEventsListener": 0,
        "KernelVersion": host.kernel,
        "OperatingSystem": host.distribution.distribution,
        "OSVersion": host.distribution.version,
        "OSType": "linux",
        "Architecture": host.arch,
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {"IndexConfigs": {}, "InsecureRegistryCIDRs": []},
        "NCPU": host.cpus,
        "MemTotal": host.mem_total,
        "Name": host.hostname,
        "Labels": [],
        "ExperimentalBuild": false,
        "ServerVersion": info.version.version,
        "Runtimes": {"skiff": {"path": host.oci_runtime.path}},
        "DefaultRuntime": "skiff",
        "Swarm": {"LocalNodeState": "inactive", "NodeID": "", "NodeAddr": "", "ControlAvailable": false, "Error": "", "RemoteManagers": null},
        "LiveRestoreEnabled": false,
        "Isolation": "",
        "InitBinary": "catatonit",
        "SecurityOptions": ["name=seccomp,profile=default"],
        "Warnings": [],
    })
}
