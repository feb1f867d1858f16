//! Bridge networks against the real binary: addresses, reaching containers from the host and
//! from each other, NAT to the outside (a network namespace the test makes), isolation of
//! internal networks, published ports. Each test uses networks of its own (own subnet and
//! bridge name): the default network's bridge is shared by every test root on the machine.
//! (busybox-static's `wget -T` crashes: `timeout` bounds it instead.)
use std::process::Command;

use skiff_test::{Mode, TestContext};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

/// A /24 and a bridge name no other test process uses.
fn unique(n: u32) -> (String, String) {
    let id = (std::process::id() * 7 + n) % 250;
    (
        format!("10.{}.{id}.0/24", 120 + n),
        format!("skt{}x{n}", std::process::id() % 100000),
    )
}

fn sh(command: &str) -> std::process::Output {
    Command::new("sh").args(["-c", command]).output().unwrap()
}

/// A network namespace standing for "the outside": a veth to the host and an HTTP server.
struct Outside {
    name: String,
    address: String,
}

impl Outside {
    fn new(ctx: &TestContext) -> Self {
        let n = std::process::id() % 60;
        let name = format!("skiff-out-{}", std::process::id());
        let host_end = format!("sko{}", std::process::id() % 100000);
        let (host_ip, address) = (format!("198.18.{n}.1"), format!("198.18.{n}.2"));
        let www = ctx.scratch("outside-www");
        std::fs::write(www.join("index.html"), "from outside\n").unwrap();
        let script = format!(
            "set -e; ip netns add {name}; ip link add {host_end} type veth peer name eth0 netns {name}; \
             ip addr add {host_ip}/30 dev {host_end}; ip link set {host_end} up; \
             ip -n {name} addr add {address}/30 dev eth0; ip -n {name} link set eth0 up; ip -n {name} link set lo up; \
             ip -n {name} route add default via {host_ip}; \
             ip netns exec {name} busybox httpd -p 8000 -h {}",
            www.display()
        );
        let out = sh(&script);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Outside { name, address }
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

    let (subnet, bridge) = unique(0);
    ctx.skiff([
        "network",
        "create",
        "--subnet",
        &subnet,
        "--interface-name",
        &bridge,
        "appnet",
    ])
    .ok();
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
    let from_peer = ctx.skiff([
        "run",
        "--rm",
        "--network",
        "appnet",
        "localhost/busybox",
        "timeout",
        "5",
        "wget",
        "-qO-",
        &url,
    ]);
    assert_eq!(from_peer.ok(), "hello from web");
    assert!(
        ctx.skiff(["ps", "--format", "{{.Networks}}"])
            .ok()
            .contains("appnet")
    );

    // Out through NAT to a server in a namespace the test made.
    let outside = Outside::new(&ctx);
    let url = format!("http://{}:8000/", outside.address);
    let out = ctx.skiff([
        "run",
        "--rm",
        "--network",
        "appnet",
        "localhost/busybox",
        "timeout",
        "5",
        "wget",
        "-qO-",
        &url,
    ]);
    assert_eq!(out.ok(), "from outside");

    // An internal network reaches its members, not the outside.
    let (subnet, bridge) = unique(1);
    ctx.skiff([
        "network",
        "create",
        "--internal",
        "--subnet",
        &subnet,
        "--interface-name",
        &bridge,
        "inner",
    ])
    .ok();
    let cut_off = ctx.skiff([
        "run",
        "--rm",
        "--network",
        "inner",
        "localhost/busybox",
        "timeout",
        "2",
        "wget",
        "-qO-",
        &url,
    ]);
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
    let (subnet, bridge) = unique(4);
    ctx.skiff([
        "network",
        "create",
        "--subnet",
        &subnet,
        "--interface-name",
        &bridge,
        "named",
    ])
    .ok();
    let (subnet2, bridge2) = unique(5);
    ctx.skiff([
        "network",
        "create",
        "--subnet",
        &subnet2,
        "--interface-name",
        &bridge2,
        "elsewhere",
    ])
    .ok();
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
    ctx.skiff([
        "run",
        "-d",
        "--name",
        "hidden",
        "--network",
        "elsewhere",
        "localhost/busybox",
        "sleep",
        "100",
    ])
    .ok();
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
    let (subnet, bridge) = unique(2);
    ctx.skiff([
        "network",
        "create",
        "--subnet",
        &subnet,
        "--interface-name",
        &bridge,
        "pub",
    ])
    .ok();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
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
    let ps = ctx.skiff(["ps", "--format", "{{.Ports}}"]);
    assert_eq!(ps.ok(), format!("127.0.0.1:{port}->80/tcp"));
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
    ctx.skiff(["network", "create", "--ipv6", "six"])
        .fails(125, "IPv6");
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
    ctx.skiff([
        "run",
        "--rm",
        "--network",
        "none",
        "-p",
        "8080:80",
        "localhost/busybox",
        "true",
    ])
    .fails(125, "port mappings need a bridge network");
    ctx.skiff(["run", "--rm", "-p", "99999:80", "localhost/busybox", "true"])
        .fails(125, "invalid port mapping");
    // Nothing was half-made: no container, no lease left.
    assert_eq!(ctx.skiff(["ps", "-aq"]).ok(), "");
    ctx.skiff(["network", "rm", "mynet"]).ok();
}

#[test]
fn rootless_containers_keep_a_private_network() {
    let ctx = TestContext::new(SKIFF, Mode::Rootless).with_busybox();
    let links = ctx.skiff(["run", "--rm", "localhost/busybox", "ip", "-o", "link"]);
    assert_eq!(
        links.ok().lines().count(),
        1,
        "loopback only: {}",
        links.stdout
    );
    ctx.skiff([
        "run",
        "--rm",
        "--network",
        "podman",
        "localhost/busybox",
        "true",
    ])
    .fails(125, "rootless containers cannot join bridge networks yet");
}
