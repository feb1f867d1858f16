//! Bridge networks against the real binary: addresses, reaching containers from the host and
//! from each other, NAT to the outside (a network namespace the test makes), isolation of
//! internal networks, published ports. Each test uses networks of its own (own subnet and
//! bridge name): the default network's bridge is shared by every test root on the machine.
//! (busybox-static's `wget -T` crashes: `timeout` bounds it instead.)
use std::process::Command;

use skiff_test::{Mode, TestContext, free_port};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

/// A /24 and a bridge name no other test process uses.
fn unique(n: u32) -> (String, String) {
    let id = (std::process::id() * 7 + n) % 250;
    (
        format!("10.{}.{id}.0/24", 120 + n),
        format!("skt{}x{n}", std::process::id() % 100000),
    )
}

/// `network create NAME` with a subnet and bridge of its own (see `unique`) and `flags`;
/// returns the subnet.
fn create_network(ctx: &TestContext, n: u32, name: &str, flags: &[&str]) -> String {
    create_network_with_env(ctx, &[], n, name, flags)
}

/// `create_network` with extra environment variables for skiff.
fn create_network_with_env(
    ctx: &TestContext,
    env: &[(&str, &str)],
    n: u32,
    name: &str,
    flags: &[&str],
) -> String {
    let (subnet, bridge) = unique(n);
    let mut args = vec![
        "network",
        "create",
        "--subnet",
        &subnet,
        "--interface-name",
        &bridge,
    ];
    args.extend_from_slice(flags);
    args.push(name);
    ctx.skiff_with_env(env, &args).ok();
    subnet
}

/// `wget -qO- URL` in a new container (on `network`, else the default one), given `seconds`.
fn fetch_in_container(
    ctx: &TestContext,
    network: Option<&str>,
    seconds: u32,
    url: &str,
) -> skiff_test::Outcome {
    let seconds = seconds.to_string();
    let mut args = vec!["run", "--rm"];
    if let Some(network) = network {
        args.extend(["--network", network]);
    }
    args.extend([
        "localhost/busybox",
        "timeout",
        &seconds,
        "wget",
        "-qO-",
        url,
    ]);
    ctx.skiff(args)
}

/// `run -d --name NAME ARGS... busybox sh -c SCRIPT`, which must start; its ID.
fn run_server(ctx: &TestContext, name: &str, args: &[&str], script: &str) -> String {
    let mut all = vec!["run", "-d", "--name", name];
    all.extend_from_slice(args);
    all.extend(["localhost/busybox", "sh", "-c", script]);
    ctx.skiff(all).ok().to_string()
}

/// `run -d --name NAME --network NETWORK busybox sleep 100`, which must start.
fn run_sleeper(ctx: &TestContext, name: &str, network: &str) {
    ctx.skiff([
        "run",
        "-d",
        "--name",
        name,
        "--network",
        network,
        "localhost/busybox",
        "sleep",
        "100",
    ])
    .ok();
}

/// `run_server` with a free host port published to `container_port`, on `network` (else the
/// default one); the container's ID and the host port.
fn run_published(
    ctx: &TestContext,
    name: &str,
    network: Option<&str>,
    container_port: u16,
    script: &str,
) -> (String, u16) {
    let port = free_port();
    let publish = format!("{port}:{container_port}");
    let mut args = vec!["-p", publish.as_str()];
    if let Some(network) = network {
        args.extend(["--network", network]);
    }
    (run_server(ctx, name, &args, script), port)
}

/// `run --rm --network NETWORK -p PUBLISH busybox true`.
fn publishing_true(ctx: &TestContext, network: &str, publish: &str) -> skiff_test::Outcome {
    ctx.skiff([
        "run",
        "--rm",
        "--network",
        network,
        "-p",
        publish,
        "localhost/busybox",
        "true",
    ])
}

fn sh(command: &str) -> std::process::Output {
    Command::new("sh").args(["-c", command]).output().unwrap()
}

/// A network namespace standing for "the outside": a veth to the host and an HTTP server.
struct Outside {
    name: String,
    /// The host's end of the veth.
    host_ip: String,
    /// The namespace's address, where its server listens on port 8000.
    address: String,
    /// Its IPv6 address (the server listens there too).
    address6: String,
    /// The host's end, IPv6.
    host6: String,
}

impl Outside {
    fn new(ctx: &TestContext) -> Self {
        static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let k = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let pid = std::process::id();
        let name = format!("skiff-out-{pid}-{k}");
        let host_end = format!("sko{}x{k}", pid % 100000);
        let (subnet, base) = (pid % 60, (k % 60) * 4);
        let host_ip = format!("198.18.{subnet}.{}", base + 1);
        let address = format!("198.18.{subnet}.{}", base + 2);
        let (host6, address6) = (
            format!("fd99:{subnet}:{k}::1"),
            format!("fd99:{subnet}:{k}::2"),
        );
        let www = ctx.scratch(&format!("outside-www-{k}"));
        std::fs::write(www.join("index.html"), "from outside\n").unwrap();
        let script = format!(
            "set -e; ip netns add {name}; ip link add {host_end} type veth peer name eth0 netns {name}; \
             ip addr add {host_ip}/30 dev {host_end}; ip link set {host_end} up; \
             ip -n {name} addr add {address}/30 dev eth0; ip -n {name} link set eth0 up; ip -n {name} link set lo up; \
             ip -n {name} route add default via {host_ip}; \
             ip addr add {host6}/64 dev {host_end} nodad; ip -n {name} addr add {address6}/64 dev eth0 nodad; \
             ip -n {name} -6 route add default via {host6}; \
             ip netns exec {name} busybox httpd -p 8000 -h {}",
            www.display()
        );
        let out = sh(&script);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Outside {
            name,
            host_ip,
            address,
            address6,
            host6,
        }
    }

    /// `wget -qO- URL` run from inside the namespace.
    fn fetch(&self, url: &str) -> String {
        let out = sh(&format!(
            "ip netns exec {} timeout 5 busybox wget -qO- {url}",
            self.name
        ));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        let _ = sh(&format!(
            "ip netns pids {0} | xargs -r kill; ip netns del {0}",
            self.name
        ));
    }
}

#[test]
fn containers_get_addresses_reach_each_other_and_the_outside() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    // The default network: an address in 10.88.0.0/16 and a route through the bridge.
    let addr = ctx.skiff([
        "run",
        "--rm",
        "localhost/busybox",
        "ip",
        "-4",
        "-o",
        "addr",
        "show",
        "eth0",
    ]);
    assert!(addr.ok().contains("inet 10.88."), "{}", addr.stdout);
    let route = ctx.skiff(["run", "--rm", "localhost/busybox", "ip", "route"]);
    assert!(
        route.ok().contains("default via 10.88.0.1"),
        "{}",
        route.stdout
    );

    let subnet = create_network(&ctx, 0, "appnet", &[]);
    let www = ctx.scratch("www");
    std::fs::write(www.join("index.html"), "hello from web\n").unwrap();
    let volume = format!("{}:/www:ro", www.display());
    ctx.skiff([
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "appnet",
        "-v",
        &volume,
        "localhost/busybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/www",
    ])
    .ok();
    let ip = ctx
        .skiff([
            "inspect",
            "--format",
            "{{.NetworkSettings.Networks.appnet.IPAddress}}",
            "web",
        ])
        .ok()
        .to_string();
    assert!(
        ip.starts_with(subnet.trim_end_matches("0/24")),
        "{ip} in {subnet}"
    );
    // From the host, and from another container on the network.
    let fetched = sh(&format!(
        "curl -s --retry 20 --retry-connrefused --retry-delay 0 --max-time 10 http://{ip}/"
    ));
    assert_eq!(String::from_utf8_lossy(&fetched.stdout), "hello from web\n");
    let url = format!("http://{ip}/");
    let from_peer = fetch_in_container(&ctx, Some("appnet"), 5, &url);
    assert_eq!(from_peer.ok(), "hello from web");
    assert!(
        ctx.skiff(["ps", "--format", "{{.Networks}}"])
            .ok()
            .contains("appnet")
    );

    // Out through NAT to a server in a namespace the test made.
    let outside = Outside::new(&ctx);
    let url = format!("http://{}:8000/", outside.address);
    let out = fetch_in_container(&ctx, Some("appnet"), 5, &url);
    assert_eq!(out.ok(), "from outside");

    // An internal network reaches its members, not the outside.
    create_network(&ctx, 1, "inner", &["--internal"]);
    let cut_off = fetch_in_container(&ctx, Some("inner"), 2, &url);
    assert_ne!(cut_off.code, 0, "{}", cut_off.stdout);

    // In use: refused (exit 2) until forced, which removes the container.
    ctx.skiff(["network", "rm", "appnet"])
        .fails(2, "network is being used");
    assert_eq!(ctx.skiff(["network", "rm", "-f", "appnet"]).ok(), "appnet");
    assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "");
    let gone = sh(&format!("ip link show {}", unique(0).1));
    assert!(!gone.status.success(), "the bridge went with the network");
    assert_eq!(ctx.skiff(["network", "prune", "-f"]).ok(), "inner");
}

#[test]
fn containers_find_each_other_by_name_on_their_network_only() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let subnet = create_network(&ctx, 4, "named", &[]);
    create_network(&ctx, 5, "elsewhere", &[]);
    ctx.skiff([
        "run",
        "-d",
        "--name",
        "db",
        "--network",
        "named",
        "--network-alias",
        "database",
        "localhost/busybox",
        "sleep",
        "100",
    ])
    .ok();
    run_sleeper(&ctx, "hidden", "elsewhere");
    // Its short ID is a name there too, listed first among its aliases (as Podman lists it).
    let id = ctx
        .skiff(["inspect", "--format", "{{.Id}}", "db"])
        .ok()
        .to_string();
    assert_eq!(
        ctx.skiff([
            "inspect",
            "--format",
            "{{(index .NetworkSettings.Networks \"named\").Aliases}}",
            "db"
        ])
        .ok(),
        format!("[{} database]", &id[..12])
    );
    let db_ip = ctx
        .skiff([
            "inspect",
            "--format",
            "{{.NetworkSettings.IPAddress}}",
            "db",
        ])
        .ok()
        .to_string();
    let lookup = ctx.skiff([
        "run", "--rm", "--network", "named", "localhost/busybox", "sh", "-c",
        "cat /etc/resolv.conf; nslookup db; nslookup database.dns.podman; nslookup hidden.dns.podman || echo hidden-not-found",
    ]);
    let out = lookup.ok();
    assert!(
        out.contains(&format!("nameserver {}", subnet.replace("0/24", "1"))),
        "{out}"
    );
    assert!(out.contains("search dns.podman"), "{out}");
    assert_eq!(
        out.matches(&format!("Address: {db_ip}")).count(),
        2,
        "{out}"
    );
    assert!(
        out.contains("hidden-not-found"),
        "nothing across networks: {out}"
    );
}

#[test]
fn published_ports_reach_the_container() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    create_network(&ctx, 2, "pub", &[]);
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    ctx.skiff([
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "pub",
        "-p",
        &publish,
        "localhost/busybox",
        "sh",
        "-c",
        "mkdir /www && echo published > /www/index.html && exec httpd -f -p 80 -h /www",
    ])
    .ok();
    let mut body = String::new();
    for _ in 0..50 {
        let out = sh(&format!("curl -s --max-time 2 http://127.0.0.1:{port}/"));
        body = String::from_utf8_lossy(&out.stdout).into_owned();
        if !body.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(body, "published\n");
    assert_eq!(
        ctx.skiff(["port", "web"]).ok(),
        format!("80/tcp -> 127.0.0.1:{port}")
    );
    // One port: its host addresses only; one not published is Podman's error.
    for private in ["80", "80/tcp"] {
        assert_eq!(
            ctx.skiff(["port", "web", private]).ok(),
            format!("127.0.0.1:{port}")
        );
    }
    ctx.skiff(["port", "web", "99/tcp"])
        .fails(125, "Error: failed to find published port \"99/tcp\"");
    let ps = ctx.skiff(["ps", "--format", "{{.Ports}}"]);
    assert_eq!(ps.ok(), format!("127.0.0.1:{port}->80/tcp"));
    // A port is published once: by another container, or held by a host process, refused.
    let again = format!("{port}:80");
    // At start: Podman's exit code for a container that could not start.
    publishing_true(&ctx, "pub", &again).fails(
        126,
        &format!("port {port}/tcp is already published by container web"),
    );
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let held_port = held.local_addr().unwrap().port().to_string();
    let taken = format!("127.0.0.1:{held_port}:80");
    publishing_true(&ctx, "pub", &taken).fails(
        126,
        &format!("cannot listen on the TCP port 127.0.0.1:{held_port}"),
    );
    drop(held);
    assert_eq!(
        ctx.skiff(["ps", "-aq"]).ok().lines().count(),
        1,
        "the refused runs left nothing"
    );
    // The forward goes with the container.
    let table = format!(
        "skiff_ctr_{}",
        &ctx.skiff(["inspect", "--format", "{{.Id}}", "web"]).ok()[..12]
    );
    assert!(sh(&format!("nft list table ip {table}")).status.success());
    ctx.skiff(["rm", "-f", "web"]).ok();
    assert!(!sh(&format!("nft list table ip {table}")).status.success());
}

#[test]
fn the_iptables_driver_does_what_nftables_does() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let outside = Outside::new(&ctx);
    let env = [("SKIFF_FIREWALL_DRIVER", "iptables")];
    let skiff = |args: &[&str]| ctx.skiff_with_env(&env, args);
    create_network_with_env(&ctx, &env, 22, "ipt", &[]);
    let network = skiff(&["network", "inspect", "--format", "{{.id}}", "ipt"])
        .ok()
        .to_string();
    let chain = format!("skiff_net_{}", &network[..12]);
    let port = free_port();
    let id = skiff(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "ipt",
        "-p",
        &format!("{port}:80"),
        "localhost/busybox",
        "sh",
        "-c",
        "mkdir /www && echo through iptables > /www/index.html && exec httpd -f -p 80 -h /www",
    ])
    .ok()
    .to_string();
    let container_chain = format!("skiff_ctr_{}", &id[..12]);
    // Out through the masquerade, in through the DNAT, from another namespace.
    let url = format!("http://{}:8000/", outside.address);
    let out = skiff(&[
        "run",
        "--rm",
        "--network",
        "ipt",
        "localhost/busybox",
        "timeout",
        "5",
        "wget",
        "-qO-",
        &url,
    ]);
    assert_eq!(out.ok(), "from outside");
    let published = format!("http://{}:{port}/", outside.host_ip);
    assert_eq!(
        eventually(|| outside.fetch(&published)),
        "through iptables\n"
    );
    let rules = |table: &str| {
        String::from_utf8_lossy(&sh(&format!("iptables -w -t {table} -S")).stdout).into_owned()
    };
    assert!(
        rules("nat").contains(&format!("-A POSTROUTING -j {chain}")),
        "{}",
        rules("nat")
    );
    assert!(rules("filter").contains(&format!("-A FORWARD -j {chain}")));
    assert!(rules("nat").contains(&format!("-A PREROUTING -j {container_chain}")));
    // Nothing went into nftables tables of skiff's own.
    assert!(!sh(&format!("nft list table ip {chain}")).status.success());
    // Everything goes with the container and the network.
    skiff(&["rm", "-f", "web"]).ok();
    assert!(!rules("nat").contains(&container_chain), "{}", rules("nat"));
    skiff(&["network", "rm", "ipt"]).ok();
    assert!(!rules("nat").contains(&chain) && !rules("filter").contains(&chain));
}

#[test]
fn network_commands_and_errors_like_podman() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let listed = ctx.skiff(["network", "ls"]);
    assert!(listed.ok().starts_with("NETWORK ID"), "{}", listed.stdout);
    assert!(listed.stdout.contains("podman") && listed.stdout.contains("bridge"));
    let (subnet, bridge) = unique(3);
    ctx.skiff([
        "network",
        "create",
        "--subnet",
        &subnet,
        "--gateway",
        &subnet.replace("0/24", "254"),
        "--interface-name",
        &bridge,
        "--label",
        "team=a",
        "mynet",
    ])
    .ok();
    // Listed by name, as Podman lists them.
    assert_eq!(
        ctx.skiff(["network", "ls", "--format", "{{.Name}}"]).ok(),
        "mynet\npodman"
    );
    let gateway = ctx.skiff([
        "network",
        "inspect",
        "--format",
        "{{range .Subnets}}{{.Gateway}}{{end}}",
        "mynet",
    ]);
    assert!(gateway.ok().ends_with(".254"), "{}", gateway.stdout);
    let json: serde_json::Value =
        serde_json::from_str(ctx.skiff(["network", "inspect", "mynet"]).ok()).unwrap();
    assert_eq!(json[0]["network_interface"], bridge.as_str());
    assert_eq!(json[0]["labels"]["team"], "a");
    assert_eq!(
        ctx.skiff(["network", "ls", "-q", "--filter", "label=team=a"])
            .ok(),
        "mynet"
    );
    ctx.skiff(["network", "exists", "mynet"]).ok();
    assert_eq!(ctx.skiff(["network", "exists", "nosuch"]).code, 1);

    // A fixed address, and the MAC asked for.
    let fixed = subnet.replace("0/24", "77");
    let shown = ctx.skiff([
        "run",
        "--rm",
        "--network",
        "mynet",
        "--ip",
        &fixed,
        "--mac-address",
        "02:00:00:aa:bb:cc",
        "localhost/busybox",
        "ip",
        "-o",
        "link",
        "show",
        "eth0",
    ]);
    assert!(shown.ok().contains("02:00:00:aa:bb:cc"), "{}", shown.stdout);
    let hosts = ctx.skiff([
        "run",
        "--rm",
        "--network",
        "mynet",
        "--ip",
        &fixed,
        "--name",
        "named",
        "--add-host",
        "db.local:192.0.2.9",
        "--dns",
        "192.0.2.53",
        "--dns-search",
        "example.org",
        "localhost/busybox",
        "sh",
        "-c",
        "cat /etc/hosts /etc/resolv.conf",
    ]);
    let text = hosts.ok();
    assert!(
        text.contains(&format!("{fixed}\t")) && text.contains("named"),
        "{text}"
    );
    assert!(text.contains("192.0.2.9\tdb.local"), "{text}");
    assert!(
        text.contains("nameserver 192.0.2.53") && text.contains("search example.org"),
        "{text}"
    );

    ctx.skiff(["network", "create", "--subnet", &subnet, "other"])
        .fails(125, "is already used by network mynet");
    ctx.skiff(["network", "create", "mynet"])
        .fails(125, "already exists");
    ctx.skiff(["network", "create", "--subnet", "10.1.2.3/24", "bad"])
        .fails(125, "invalid subnet");
    ctx.skiff(["network", "inspect", "nosuch"])
        .fails(125, "name or ID nosuch: network not found");
    ctx.skiff(["network", "rm", "nosuch"])
        .fails(1, "network not found");
    ctx.skiff(["network", "rm", "podman"])
        .fails(125, "default network");
    ctx.skiff([
        "run",
        "--rm",
        "--network",
        "nosuch",
        "localhost/busybox",
        "true",
    ])
    .fails(125, "name or ID nosuch: network not found");
    ctx.skiff([
        "run",
        "--rm",
        "--network",
        "mynet",
        "--ip",
        "192.0.2.1",
        "localhost/busybox",
        "true",
    ])
    .fails(125, "is not in the subnet");
    // As Podman: ports are discarded where nothing forwards them, with a warning first.
    let out = ctx.skiff([
        "run",
        "--rm",
        "--network",
        "none",
        "-p",
        "8080:80",
        "localhost/busybox",
        "echo",
        "ran",
    ]);
    assert_eq!(out.ok(), "ran");
    assert_eq!(
        out.stderr,
        "Port mappings have been discarded as one of the Host, Container, Pod, and None network modes are in use\n"
    );
    ctx.skiff(["run", "--rm", "-p", "99999:80", "localhost/busybox", "true"])
        .fails(125, "invalid port mapping");
    // Nothing was half-made: no container, no lease left.
    assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "");
    ctx.skiff(["network", "rm", "mynet"]).ok();
}

/// A busybox httpd whose CGI answers with the client's address, as the server sees it.
const CLIENT_ADDRESS_SERVER: &str = "mkdir -p /www/cgi-bin && \
     printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho $REMOTE_ADDR\\n' > /www/cgi-bin/ip && \
     chmod +x /www/cgi-bin/ip && exec httpd -f -p 80 -h /www";

/// Polls `fetch` until it answers (a detached server takes a moment to listen).
fn eventually(fetch: impl Fn() -> String) -> String {
    for _ in 0..50 {
        let body = fetch();
        if !body.is_empty() {
            return body;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    String::new()
}

/// Whether any process still mentions `needle` in its command line (a user-mode helper
/// names the container's run directory).
fn process_mentions(needle: &str) -> bool {
    Command::new("pgrep")
        .args(["-f", needle])
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn rootless_containers_reach_out_and_publish_ports_through_pasta() {
    let ctx = TestContext::new(SKIFF, Mode::Rootless).with_busybox();
    let outside = Outside::new(&ctx);
    // The default for a rootless user: pasta, with the host's addresses copied in.
    let links = ctx.skiff(["run", "--rm", "localhost/busybox", "ip", "-o", "link"]);
    assert!(links.ok().contains("eth0"), "{}", links.stdout);
    let url = format!("http://{}:8000/", outside.address);
    let fetched = fetch_in_container(&ctx, None, 5, &url);
    assert_eq!(fetched.ok(), "from outside");
    // The host's loopback, through the gateway address.
    let www = ctx.scratch("host-www");
    std::fs::write(www.join("index.html"), "on the host's loopback\n").unwrap();
    let port = free_port();
    let mut server = Command::new("busybox")
        .args(["httpd", "-f", "-p", &format!("127.0.0.1:{port}"), "-h"])
        .arg(&www)
        .spawn()
        .unwrap();
    let via_gateway = ctx.skiff([
        "run",
        "--rm",
        "localhost/busybox",
        "sh",
        "-c",
        &format!(
            "gw=$(ip route | awk '/default/ {{print $3}}'); timeout 5 wget -qO- http://$gw:{port}/"
        ),
    ]);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(via_gateway.ok(), "on the host's loopback");

    // A published port, reached from the outside namespace: the server sees the real client.
    let (id, port) = run_published(&ctx, "web", None, 80, CLIENT_ADDRESS_SERVER);
    let seen =
        eventually(|| outside.fetch(&format!("http://{}:{port}/cgi-bin/ip", outside.host_ip)));
    assert!(
        seen.contains(&outside.address),
        "the server saw {seen:?}, not {}",
        outside.address
    );
    assert_eq!(
        ctx.skiff(["port", "web"]).ok(),
        format!("80/tcp -> 0.0.0.0:{port}")
    );
    assert!(process_mentions(&id));
    ctx.skiff(["rm", "-f", "web"]).ok();
    let mut gone = false;
    for _ in 0..20 {
        gone = !process_mentions(&id);
        if gone {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(gone, "pasta outlived its container");
}

/// The links of the rootless network namespace (its holder's), as `ip -o link` prints them.
fn rootless_namespace_links(ctx: &TestContext) -> String {
    let pid = std::fs::read_to_string(ctx.runroot().join("rootless-netns/holder.pid")).unwrap();
    let pid = pid.split(' ').next().unwrap();
    let out = sh(&format!("nsenter -t {pid} -n ip -o link"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn rootless_bridge_networks_live_in_a_shared_rootless_namespace() {
    let ctx = TestContext::new(SKIFF, Mode::Rootless).with_busybox();
    let outside = Outside::new(&ctx);
    create_network(&ctx, 20, "appnet", &[]);
    create_network(&ctx, 21, "elsewhere", &[]);
    let (_, bridge) = unique(20);
    run_server(
        &ctx,
        "db",
        &["--network", "appnet"],
        "mkdir -p /w && echo from db > /w/index.html && exec httpd -f -p 8080 -h /w",
    );
    // Each `skiff` is a process of its own: the second finds the namespace the first made.
    let fetched =
        eventually(|| fetch_in_container(&ctx, Some("appnet"), 5, "http://db:8080/").stdout);
    assert_eq!(fetched, "from db\n");
    let elsewhere = ctx.skiff([
        "run",
        "--rm",
        "--network",
        "elsewhere",
        "localhost/busybox",
        "sh",
        "-c",
        "nslookup db.dns.podman || echo not-found",
    ]);
    assert!(elsewhere.ok().contains("not-found"), "{}", elsewhere.stdout);
    // The outside, through the namespace's own pasta.
    let url = format!("http://{}:8000/", outside.address);
    assert_eq!(
        fetch_in_container(&ctx, Some("appnet"), 5, &url).ok(),
        "from outside"
    );
    // The bridge is in the rootless namespace, not the host's.
    assert!(rootless_namespace_links(&ctx).contains(&bridge));
    assert!(!sh(&format!("ip link show {bridge}")).status.success());
    // A running container joins one more network at once, names and all.
    run_sleeper(&ctx, "client", "elsewhere");
    ctx.skiff(["network", "connect", "appnet", "client"]).ok();
    let through = ctx.skiff([
        "exec",
        "client",
        "timeout",
        "5",
        "wget",
        "-qO-",
        "http://db:8080/",
    ]);
    assert_eq!(through.ok(), "from db");
    // And leaves it at once: its interface on the network goes.
    ctx.skiff(["network", "disconnect", "appnet", "client"])
        .ok();
    let links = ctx.skiff(["exec", "client", "ip", "-o", "link"]);
    assert!(!links.ok().contains("eth1"), "{}", links.stdout);
    // Published ports: a forwarder carries them into the rootless namespace (as Podman 5's
    // rootlessport), reached here from the outside namespace.
    let (_, port) = run_published(
        &ctx,
        "published",
        Some("appnet"),
        8080,
        "mkdir -p /w && echo published > /w/index.html && exec httpd -f -p 8080 -h /w",
    );
    let url = format!("http://{}:{port}/", outside.host_ip);
    assert_eq!(eventually(|| outside.fetch(&url)), "published\n");
    ctx.skiff(["rm", "-f", "published"]).ok();
    // The port is free again at once.
    std::net::TcpListener::bind(("0.0.0.0", port)).unwrap();
    // UDP too: an echo server (the host's python3, mounted in: busybox has no UDP server).
    let udp_port = std::net::UdpSocket::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let publish = format!("{udp_port}:5353/udp");
    let mut args = vec![
        "--network",
        "appnet",
        "-p",
        &publish,
        "-v",
        "/usr:/usr:ro",
        "-v",
        "/lib:/lib:ro",
    ];
    if std::path::Path::new("/lib64").exists() {
        args.extend(["-v", "/lib64:/lib64:ro"]);
    }
    run_server(
        &ctx,
        "echo",
        &args,
        "exec /usr/bin/python3 -c 'import socket; s = socket.socket(2, 2); s.bind((\"\", 5353)); \
         [s.sendto(b\"echo:\" + d, a) for d, a in iter(lambda: s.recvfrom(512), None)]'",
    );
    let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    let mut answer = Vec::new();
    for _ in 0..50 {
        client.send_to(b"ping", ("127.0.0.1", udp_port)).unwrap();
        let mut buffer = [0u8; 64];
        if let Ok(n) = client.recv(&mut buffer) {
            answer = buffer[..n].to_vec();
            break;
        }
    }
    assert_eq!(String::from_utf8_lossy(&answer), "echo:ping");
    ctx.skiff(["rm", "-f", "echo"]).ok();
    std::net::UdpSocket::bind(("0.0.0.0", udp_port)).unwrap();
    ctx.skiff(["rm", "-f", "db", "client"]).ok();
    ctx.skiff(["network", "rm", "appnet"]).ok();
    assert!(!rootless_namespace_links(&ctx).contains(&bridge));
}

#[test]
fn rootless_slirp4netns_is_the_fallback() {
    let ctx = TestContext::new(SKIFF, Mode::Rootless).with_busybox();
    let outside = Outside::new(&ctx);
    let url = format!("http://{}:8000/", outside.address);
    let out = ctx.skiff([
        "run",
        "--rm",
        "--network",
        "slirp4netns",
        "localhost/busybox",
        "sh",
        "-c",
        &format!("ip -o -4 addr show tap0; cat /etc/resolv.conf; timeout 5 wget -qO- {url}"),
    ]);
    let text = out.ok();
    assert!(text.contains("inet 10.0.2.100/24"), "{text}");
    assert!(text.contains("nameserver 10.0.2.3"), "{text}");
    assert!(text.ends_with("from outside"), "{text}");

    // Podman's options: another network (the container .100, the resolver .3, both in
    // /etc/hosts and resolv.conf), another MTU; an unknown option is refused.
    let out = ctx.skiff([
        "run",
        "--rm",
        "--network",
        "slirp4netns:cidr=172.23.78.0/24,mtu=1500,port_handler=slirp4netns",
        "--name",
        "slirpy",
        "--hostname",
        "slirpy",
        "localhost/busybox",
        "sh",
        "-c",
        "ip -o -4 addr show tap0; cat /sys/class/net/tap0/mtu /etc/resolv.conf /etc/hosts",
    ]);
    let text = out.ok();
    assert!(text.contains("inet 172.23.78.100/24"), "{text}");
    assert!(text.contains("\n1500\n"), "{text}");
    assert!(text.contains("nameserver 172.23.78.3"), "{text}");
    assert!(text.contains("172.23.78.100\tslirpy slirpy"), "{text}");
    assert!(text.contains("\thost.containers.internal"), "{text}");
    ctx.skiff([
        "run",
        "--rm",
        "--network",
        "slirp4netns:cidr=10.0.0.0/8,bogus=1",
        "localhost/busybox",
        "true",
    ])
    .fails(125, "unknown option for slirp4netns: \"bogus=1\"");

    let (_, port) = run_published(&ctx, "web", Some("slirp4netns"), 80, CLIENT_ADDRESS_SERVER);
    let seen =
        eventually(|| outside.fetch(&format!("http://{}:{port}/cgi-bin/ip", outside.host_ip)));
    assert!(seen.contains(&outside.address), "{seen:?}");
    // The same port twice: slirp4netns refuses the second forward; nothing is left behind.
    let publish = format!("{port}:80");
    publishing_true(&ctx, "slirp4netns", &publish).fails(125, "slirp4netns: cannot publish port");
    ctx.skiff(["rm", "-f", "web"]).ok();
}

/// A detached busybox httpd serving "shared" on port 80.
const SHARED_SERVER: &str =
    "mkdir -p /www && echo shared > /www/index.html && exec httpd -f -p 80 -h /www";

#[test]
fn containers_join_another_containers_namespace_or_a_named_one() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    create_network(&ctx, 6, "joined", &[]);
    let id = run_server(&ctx, "web", &["--network", "joined"], SHARED_SERVER);
    let address = ctx
        .skiff([
            "inspect",
            "--format",
            "{{.NetworkSettings.Networks.joined.IPAddress}}",
            "web",
        ])
        .ok()
        .to_string();
    let script = "ip -o -4 addr show eth0; cat /etc/hosts; \
                  for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://127.0.0.1/ && break; sleep 0.2; done";
    let out = ctx.skiff([
        "run",
        "--rm",
        "--network",
        "container:web",
        "localhost/busybox",
        "sh",
        "-c",
        script,
    ]);
    let text = out.ok();
    assert!(text.contains(&format!("inet {address}/")), "{text}");
    assert!(
        text.contains(&format!("{address}\t")),
        "web's /etc/hosts: {text}"
    );
    assert!(text.ends_with("shared"), "{text}");

    // A container sharing web's namespace keeps web from being removed.
    ctx.skiff([
        "create",
        "--name",
        "dep",
        "--network",
        "container:web",
        "localhost/busybox",
        "true",
    ])
    .ok();
    assert_eq!(
        ctx.skiff(["inspect", "--format", "{{.HostConfig.NetworkMode}}", "dep"])
            .ok(),
        format!("container:{id}")
    );
    ctx.skiff(["rm", "-f", "web"]).fails(
        125,
        "has dependent containers which must be removed before it: dep",
    );
    ctx.skiff(["stop", "-t", "0", "web"]).ok();
    ctx.skiff(["start", "dep"]).fails(
        125,
        "cannot join the network namespace of container web: it is not running",
    );
    ctx.skiff(["rm", "dep"]).ok();
    // Nor does prune take a stopped container while a running one lives in its namespace.
    ctx.skiff(["start", "web"]).ok();
    ctx.skiff([
        "run",
        "-d",
        "--name",
        "lodger",
        "--network",
        "container:web",
        "localhost/busybox",
        "sleep",
        "1000",
    ])
    .ok();
    ctx.skiff(["stop", "-t", "0", "web"]).ok();
    let pruned = ctx.skiff(["container", "prune", "-f"]).ok().to_string();
    assert!(!pruned.contains(&id), "web was pruned: {pruned}");
    ctx.skiff(["rm", "-f", "lodger"]).ok();
    ctx.skiff(["rm", "web"]).ok();

    ctx.skiff([
        "run",
        "--rm",
        "--network",
        "container:nope",
        "localhost/busybox",
        "true",
    ])
    .fails(125, "no container with name or ID \"nope\" found");
    let before = ctx.skiff(["ps", "-aq"]).ok().to_string();
    assert_eq!(before, "", "nothing left by the failed runs");

    // ns:PATH: a namespace the test made, with an address of its own.
    let name = format!("skiff-ns-{}", std::process::id());
    let made = sh(&format!(
        "ip netns add {name} && ip -n {name} link set lo up && ip -n {name} addr add 198.19.7.7/32 dev lo"
    ));
    assert!(made.status.success());
    let path = format!("ns:/run/netns/{name}");
    let out = ctx.skiff([
        "run",
        "--rm",
        "--network",
        &path,
        "localhost/busybox",
        "ip",
        "-o",
        "-4",
        "addr",
    ]);
    let _ = sh(&format!("ip netns del {name}"));
    assert!(out.ok().contains("inet 198.19.7.7/32"), "{}", out.stdout);
    ctx.skiff([
        "run",
        "--rm",
        "--network",
        "ns:/run/netns/skiff-no-such-ns",
        "localhost/busybox",
        "true",
    ])
    .fails(
        125,
        "--network ns:/run/netns/skiff-no-such-ns: no such namespace file",
    );
}

#[test]
fn rootless_containers_share_a_network_namespace() {
    let ctx = TestContext::new(SKIFF, Mode::Rootless).with_busybox();
    run_server(&ctx, "web", &[], SHARED_SERVER);
    let out = ctx.skiff([
        "run",
        "--rm",
        "--network",
        "container:web",
        "localhost/busybox",
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://127.0.0.1/ && break; sleep 0.2; done",
    ]);
    assert_eq!(out.ok(), "shared");
}

#[test]
fn containers_connect_to_and_disconnect_from_networks() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    for (n, name) in [(7, "front"), (8, "back")] {
        create_network(&ctx, n, name, &[]);
    }
    run_server(&ctx, "web", &["--network", "front"], SHARED_SERVER);
    ctx.skiff([
        "run",
        "-d",
        "--name",
        "client",
        "--network",
        "back",
        "localhost/busybox",
        "sleep",
        "1000",
    ])
    .ok();
    let fetch = |host: &str| {
        ctx.skiff([
            "exec",
            "client",
            "timeout",
            "3",
            "wget",
            "-qO-",
            &format!("http://{host}/"),
        ])
    };
    assert_ne!(fetch("web").code, 0, "web is not on client's network yet");

    // A running container gets a new interface at once, and its alias resolves.
    ctx.skiff(["network", "connect", "--alias", "www", "back", "web"])
        .ok();
    assert!(
        ctx.skiff(["exec", "web", "ip", "-o", "link"])
            .ok()
            .contains("eth1")
    );
    let address = ctx
        .skiff([
            "inspect",
            "--format",
            "{{.NetworkSettings.Networks.back.IPAddress}}",
            "web",
        ])
        .ok()
        .to_string();
    assert!(address.starts_with("10.128."), "{address}");
    assert_eq!(fetch("www").ok(), "shared");
    ctx.skiff(["network", "connect", "back", "web"])
        .fails(125, "already connected to network \"back\"");
    ctx.skiff(["network", "connect", "nowhere", "web"])
        .fails(125, "unable to find network with name or ID nowhere");

    // And leaves it at once.
    ctx.skiff(["network", "disconnect", "back", "web"]).ok();
    assert!(
        !ctx.skiff(["exec", "web", "ip", "-o", "link"])
            .ok()
            .contains("eth1")
    );
    assert_ne!(fetch("www").code, 0, "www still answers after disconnect");
    ctx.skiff(["network", "disconnect", "back", "web"])
        .fails(125, "container web is not connected to network \"back\"");

    // A stopped container joins from its next start.
    ctx.skiff(["stop", "-t", "0", "web"]).ok();
    ctx.skiff(["network", "connect", "back", "web"]).ok();
    ctx.skiff(["start", "web"]).ok();
    let links = ctx.skiff(["exec", "web", "ip", "-o", "link"]);
    assert!(links.ok().contains("eth1"), "{}", links.stdout);
    let body = eventually(|| fetch("web").stdout.trim().to_string());
    assert_eq!(body, "shared");
}

#[test]
fn ipv6_networks_give_containers_both_families() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let outside = Outside::new(&ctx);
    create_network(&ctx, 9, "six", &["--ipv6"]);
    let subnets = ctx.skiff(["network", "inspect", "--format", "{{json .Subnets}}", "six"]);
    assert!(
        subnets.ok().contains("\"Subnet\":\"fd"),
        "{}",
        subnets.stdout
    );
    run_server(&ctx, "web6", &["--network", "six"], SHARED_SERVER);
    let address6 = ctx
        .skiff([
            "inspect",
            "--format",
            "{{.NetworkSettings.Networks.six.GlobalIPv6Address}}",
            "web6",
        ])
        .ok()
        .to_string();
    assert!(address6.starts_with("fd"), "{address6}");
    // The name answers AAAA, the server answers over IPv6, and the outside is reached over
    // IPv6 through the host (masquerade).
    let script = format!(
        "nslookup -type=aaaa web6; \
         for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- 'http://[{address6}]/' && break; sleep 0.2; done; \
         timeout 5 wget -qO- 'http://[{}]:8000/'",
        outside.address6
    );
    let out = ctx.skiff([
        "run",
        "--rm",
        "--network",
        "six",
        "localhost/busybox",
        "sh",
        "-c",
        &script,
    ]);
    let text = out.ok();
    assert!(text.contains(&format!("Address: {address6}")), "{text}");
    assert!(text.contains("shared"), "{text}");
    assert!(text.ends_with("from outside"), "{text}");

    // A published port answers on the host's IPv6 addresses too.
    let (_, port) = run_published(&ctx, "pub6", Some("six"), 80, SHARED_SERVER);
    let body = eventually(|| outside.fetch(&format!("http://[{}]:{port}/", outside.host6)));
    assert_eq!(body, "shared\n");
    let body4 = eventually(|| outside.fetch(&format!("http://{}:{port}/", outside.host_ip)));
    assert_eq!(body4, "shared\n");

    ctx.skiff([
        "network",
        "create",
        "--subnet",
        "fd00:1::/64",
        "--subnet",
        "fd00:2::/64",
        "two6",
    ])
    .fails(125, "one IPv4 and one IPv6 subnet at most");
    ctx.skiff(["network", "create", "--subnet", "fd00:1::1/64", "bad6"])
        .fails(125, "invalid subnet \"fd00:1::1/64\"");
}

/// A DNS server on the host's loopback answering every A question with 192.0.2.77, as a
/// host with only systemd-resolved's 127.0.0.53 would have; stops when dropped.
struct LoopbackResolver {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LoopbackResolver {
    fn start() -> Self {
        let socket = std::net::UdpSocket::bind("127.0.0.1:53").expect("127.0.0.1:53 is free");
        socket
            .set_read_timeout(Some(std::time::Duration::from_millis(100)))
            .unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut query = [0u8; 512];
            while !stopping.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((n, client)) = socket.recv_from(&mut query) else {
                    continue;
                };
                // The question ends after its name's zero label, type and class.
                let mut end = 12;
                while end < n && query[end] != 0 {
                    end += usize::from(query[end]) + 1;
                }
                end += 5;
                let mut answer = query[..2].to_vec();
                answer.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
                answer.extend_from_slice(&query[12..end.min(n)]);
                answer
                    .extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 77]);
                let _ = socket.send_to(&answer, client);
            }
        });
        LoopbackResolver {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for LoopbackResolver {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn pasta_forwards_dns_when_the_host_resolves_on_its_loopback() {
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let _resolver = LoopbackResolver::start();
    let resolv = ctx.scratch("resolv").join("resolv.conf");
    std::fs::write(&resolv, "nameserver 127.0.0.1\n").unwrap();
    let out = with_loopback_resolver(
        &ctx,
        &resolv,
        &[
            "run",
            "--rm",
            "--network",
            "pasta",
            "localhost/busybox",
            "sh",
            "-c",
            "cat /etc/resolv.conf; nslookup example.test",
        ],
    );
    assert!(out.starts_with("nameserver 169.254.1.1"), "{out}");
    assert!(out.contains("Address: 192.0.2.77"), "{out}");
    // A rootless bridge network: its DNS server, in the rootless network namespace, forwards
    // through that namespace's pasta likewise.
    let rootless = TestContext::new(SKIFF, Mode::Rootless).with_busybox();
    create_network(&rootless, 23, "appnet", &[]);
    let out = with_loopback_resolver(
        &rootless,
        &resolv,
        &[
            "run",
            "--rm",
            "--network",
            "appnet",
            "localhost/busybox",
            "nslookup",
            "example.test",
        ],
    );
    assert!(out.contains("Address: 192.0.2.77"), "{out}");
}

/// `skiff ARGS` in a mount namespace of its own where /etc/resolv.conf is `resolv` (naming
/// only the loopback); its output, which must be a success.
fn with_loopback_resolver(ctx: &TestContext, resolv: &std::path::Path, args: &[&str]) -> String {
    let inner = ctx.command(args);
    let mut command = Command::new("unshare");
    command
        .args(["-m", "sh", "-c"])
        .arg(format!(
            "mount --bind {} /etc/resolv.conf && exec \"$@\"",
            resolv.display()
        ))
        .arg("sh")
        .arg(inner.get_program())
        .args(inner.get_args());
    for (key, value) in inner.get_envs() {
        if let Some(value) = value {
            command.env(key, value);
        }
    }
    let out = command.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}
