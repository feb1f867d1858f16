//! Registry commands against a real registry (Debian's docker-registry on 127.0.0.1), as root and
//! as an unprivileged user: push, pull, login/logout, run's pull policies, platform choice from
//! a manifest list, short names, and refusal of corrupted content.
use skiff_test::{Access, Mode, Registry, TestContext};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");
const INSECURE: &str = "--tls-verify=false";

fn image_id(ctx: &TestContext, name: &str) -> String {
    ctx.skiff(["image", "inspect", "--format", "{{.Id}}", name])
        .ok()
        .to_string()
}

#[test]
fn push_then_pull_round_trip_and_run() {
    let registry = Registry::start(Access::Open);
    for mode in Mode::BOTH {
        let source = TestContext::new(SKIFF, mode).with_busybox();
        let name = registry.name(&format!("{mode:?}/busybox:1").to_lowercase());
        let pushed = source.skiff(["push", INSECURE, "busybox", &name]);
        pushed.ok();
        assert!(
            pushed
                .stderr
                .contains("Writing manifest to image destination"),
            "{}",
            pushed.stderr
        );

        let target = TestContext::new(SKIFF, mode);
        let pulled = target.skiff(["pull", INSECURE, &name]);
        let id = pulled.ok().to_string();
        assert_eq!(
            id,
            image_id(&source, "busybox"),
            "{mode:?}: same config, same ID"
        );
        assert!(pulled.stderr.contains(&format!("Trying to pull {name}...")));
        assert!(pulled.stderr.contains("Copying blob") && pulled.stderr.contains(" done"));

        // Pulling again fetches nothing; -q prints the ID alone.
        let again = target.skiff(["pull", "-q", INSECURE, &name]);
        assert_eq!(again.ok(), id);
        assert_eq!(again.stderr, "");
        let again = target.skiff(["pull", INSECURE, &name]);
        assert!(
            again.stderr.contains("skipped: already exists"),
            "{}",
            again.stderr
        );

        assert_eq!(
            target.skiff(["run", "--rm", &name, "echo", "pulled"]).ok(),
            "pulled"
        );
        let digests = target.skiff(["images", "--digests", "--format", "{{.Digest}}"]);
        assert!(digests.ok().starts_with("sha256:"), "{}", digests.stdout);

        // Pushing what was pulled keeps the registry's manifest byte for byte.
        let copy = registry.name(&format!("{mode:?}/copy:1").to_lowercase());
        target.skiff(["push", INSECURE, &name, &copy]).ok();
        let original = target.skiff(["manifest", "inspect", INSECURE, &name]);
        let copied = target.skiff(["manifest", "inspect", INSECURE, &copy]);
        assert_eq!(original.ok(), copied.ok());
    }
}

#[test]
fn push_formats_and_digest_references() {
    let registry = Registry::start(Access::Open);
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    for (format, media_type) in [
        ("oci", "application/vnd.oci.image.manifest.v1+json"),
        (
            "v2s2",
            "application/vnd.docker.distribution.manifest.v2+json",
        ),
    ] {
        let name = registry.name(&format!("formats:{format}"));
        let digest_file = ctx.dir.join(format!("{format}.digest"));
        ctx.skiff([
            "push",
            INSECURE,
            "--format",
            format,
            "--digestfile",
            digest_file.to_str().unwrap(),
            "busybox",
            &name,
        ])
        .ok();
        let manifest: serde_json::Value =
            serde_json::from_str(ctx.skiff(["manifest", "inspect", INSECURE, &name]).ok()).unwrap();
        assert_eq!(manifest["mediaType"], media_type, "{manifest}");
        assert!(
            manifest["layers"][0]["mediaType"]
                .as_str()
                .unwrap()
                .ends_with("gzip"),
            "layers are compressed for the registry: {manifest}"
        );
        // NAME@DIGEST pulls exactly that manifest.
        let digest = std::fs::read_to_string(&digest_file).unwrap();
        let fresh = TestContext::new(SKIFF, Mode::Root);
        let by_digest = format!("{}@{digest}", registry.name("formats"));
        assert_eq!(
            fresh.skiff(["pull", "-q", INSECURE, &by_digest]).ok(),
            image_id(&ctx, "busybox")
        );
    }
    let unknown = format!("{}@sha256:{}", registry.name("formats"), "0".repeat(64));
    ctx.skiff(["pull", INSECURE, &unknown])
        .fails(125, "manifest unknown");
    ctx.skiff([
        "push",
        INSECURE,
        "--format",
        "v2s1",
        "busybox",
        &registry.name("x"),
    ])
    .fails(125, "v2s1");
    ctx.skiff(["push", INSECURE, "busybox", "nowhere"])
        .fails(125, "name a registry");
}

#[test]
fn errors_name_the_cause() {
    let registry = Registry::start(Access::Open);
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    ctx.skiff(["pull", INSECURE, &registry.name("missing:1")])
        .fails(125, "manifest unknown");
    // A plain-HTTP registry with TLS verification on: say how to proceed.
    ctx.skiff(["pull", &registry.name("missing:1")])
        .fails(125, "--tls-verify=false");
    // Nothing listens here.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    ctx.skiff(["pull", INSECURE, &format!("{address}/x")])
        .fails(125, "cannot connect");
    ctx.skiff(["pull", "--platform", "linux", INSECURE, &registry.name("x")])
        .fails(125, "os/arch");
    // No search registries configured: a short name cannot be pulled.
    ctx.skiff(["pull", "nosuchimage"])
        .fails(125, "unqualified-search registries");
    ctx.skiff(["run", "--rm", "--pull", "never", "nosuchimage", "true"])
        .fails(125, "image not known");
    ctx.skiff(["run", "--rm", "--pull", "sometimes", "busybox", "true"])
        .fails(125, "invalid pull policy");
}

#[test]
fn login_logout_and_credentials() {
    let registry = Registry::start(Access::Password {
        user: "alice",
        password: "s3cret",
    });
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let name = registry.name(&format!("{mode:?}/private:1").to_lowercase());
        ctx.skiff(["push", INSECURE, "busybox", &name])
            .fails(125, &format!("skiff login {}", registry.address));
        let auth_file = ctx.dir.join("auth.json");

        let wrong = ctx.skiff_with_input(
            &[
                "login",
                INSECURE,
                "-u",
                "alice",
                "--password-stdin",
                &registry.address,
            ],
            b"wrong\n",
        );
        wrong.fails(125, "invalid username/password");
        assert!(!auth_file.exists(), "a failed login stores nothing");

        let login = ctx.skiff_with_input(
            &[
                "login",
                INSECURE,
                "-u",
                "alice",
                "--password-stdin",
                &registry.address,
            ],
            b"s3cret\n",
        );
        assert_eq!(login.ok(), "Login Succeeded!");
        assert_eq!(
            ctx.skiff(["login", "--get-login", &registry.address]).ok(),
            "alice"
        );
        let stored = std::fs::read_to_string(&auth_file).unwrap();
        assert!(stored.contains(&registry.address), "{stored}");
        use std::os::unix::fs::PermissionsExt;
        let mode_bits = std::fs::metadata(&auth_file).unwrap().permissions().mode();
        assert_eq!(mode_bits & 0o777, 0o600);

        ctx.skiff(["push", INSECURE, "busybox", &name]).ok();
        let other = TestContext::new(SKIFF, mode);
        other
            .skiff(["pull", INSECURE, &name])
            .fails(125, "unauthorized");
        // --creds works without a stored login; --authfile points at another file.
        other
            .skiff(["pull", "-q", INSECURE, "--creds", "alice:s3cret", &name])
            .ok();
        let copied = other.dir.join("elsewhere.json");
        std::fs::copy(&auth_file, &copied).unwrap();
        other.chown(&copied);
        other
            .skiff([
                "pull",
                "-q",
                INSECURE,
                "--authfile",
                copied.to_str().unwrap(),
                &name,
            ])
            .ok();

        assert_eq!(
            ctx.skiff(["logout", &registry.address]).ok(),
            format!("Removed login credentials for {}", registry.address)
        );
        ctx.skiff(["logout", &registry.address])
            .fails(125, "not logged into");
        ctx.skiff(["login", "--get-login", &registry.address])
            .fails(125, "not logged into");
        ctx.skiff(["push", INSECURE, "busybox", &name])
            .fails(125, "unauthorized");
    }
}

#[test]
fn default_credentials_file_is_podmans_rootless_path() {
    let registry = Registry::start(Access::Password {
        user: "bob",
        password: "pw",
    });
    let ctx = TestContext::new(SKIFF, Mode::Rootless).with_busybox();
    let mut login = ctx.command_with_env(
        &[("REGISTRY_AUTH_FILE", "")],
        [
            "login",
            INSECURE,
            "-u",
            "bob",
            "-p",
            "pw",
            &registry.address,
        ],
    );
    assert!(login.status().unwrap().success());
    let path = ctx.dir.join("xdg/containers/auth.json");
    assert!(
        path.exists(),
        "credentials under $XDG_RUNTIME_DIR/containers"
    );
}

#[test]
fn run_pulls_a_missing_image_and_short_names_use_search_registries() {
    let registry = Registry::start(Access::Open);
    let source = TestContext::new(SKIFF, Mode::Root).with_busybox();
    source
        .skiff([
            "push",
            INSECURE,
            "busybox",
            &registry.name("tools/busybox:latest"),
        ])
        .ok();
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode);
        // `run` pulls what it lacks (policy missing) and reports it on stderr.
        let run = ctx.skiff([
            "run",
            "--rm",
            INSECURE,
            &registry.name("tools/busybox"),
            "echo",
            "ran",
        ]);
        assert_eq!(run.ok(), "ran");
        assert!(run.stderr.contains("Trying to pull"), "{}", run.stderr);
        let again = ctx.skiff(["run", "--rm", &registry.name("tools/busybox"), "true"]);
        again.ok();
        assert!(
            !again.stderr.contains("Trying"),
            "local image reused: {}",
            again.stderr
        );

        // A registries.conf with a search registry marked insecure resolves short names.
        let conf = ctx.dir.join("registries.conf");
        std::fs::write(
            &conf,
            format!(
                "unqualified-search-registries = [\"{0}\"]\n[[registry]]\nlocation = \"{0}\"\ninsecure = true\n",
                registry.address
            ),
        )
        .unwrap();
        ctx.chown(&conf);
        let short = ctx.skiff(["pull", "tools/busybox"]);
        short.ok();
        assert!(short.stderr.contains(&format!(
            "Trying to pull {}",
            registry.name("tools/busybox:latest")
        )));
        let search = ctx.skiff(["search", "--format", "{{.Name}}", "tools"]);
        assert_eq!(search.ok(), registry.name("tools/busybox"));
        let tags = ctx.skiff(["search", "--list-tags", &registry.name("tools/busybox")]);
        let text = tags.ok();
        assert!(text.starts_with("NAME") && text.contains("TAG"), "{text}");
        assert!(text.lines().nth(1).unwrap().ends_with("latest"), "{text}");
    }
}

#[test]
fn manifest_lists_pick_the_platform() {
    let registry = Registry::start(Access::Open);
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let tarball = ctx.dir.join("busybox.tar");
    ctx.skiff([
        "import",
        "-c",
        "ENV FLAVOUR=arm",
        tarball.to_str().unwrap(),
        "localhost/armish",
    ])
    .ok();
    let mut descriptors = Vec::new();
    for (image, tag, arch) in [("busybox", "amd", "amd64"), ("armish", "arm", "arm64")] {
        let file = ctx.dir.join(format!("{tag}.digest"));
        ctx.skiff([
            "push",
            INSECURE,
            "--format",
            "oci",
            "--digestfile",
            file.to_str().unwrap(),
            image,
            &registry.name(&format!("multi:{tag}")),
        ])
        .ok();
        let digest = std::fs::read_to_string(&file).unwrap();
        let size = std::fs::metadata(registry.blob_path(&digest))
            .unwrap()
            .len();
        descriptors.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": size,
            "platform": {"architecture": arch, "os": "linux"},
        }));
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": descriptors,
    });
    let status = std::process::Command::new("curl")
        .args(["-sf", "-X", "PUT", "-H"])
        .arg("Content-Type: application/vnd.oci.image.index.v1+json")
        .arg("--data-binary")
        .arg(index.to_string())
        .arg(format!(
            "http://{}/v2/multi/manifests/latest",
            registry.address
        ))
        .status()
        .unwrap();
    assert!(status.success(), "PUT the index");

    let fresh = TestContext::new(SKIFF, Mode::Root);
    let multi = registry.name("multi");
    assert_eq!(
        fresh.skiff(["pull", "-q", INSECURE, &multi]).ok(),
        image_id(&ctx, "busybox"),
        "this machine's platform"
    );
    assert_eq!(
        fresh
            .skiff(["pull", "-q", INSECURE, "--platform", "linux/arm64", &multi])
            .ok(),
        image_id(&ctx, "armish")
    );
    assert_eq!(
        fresh
            .skiff(["pull", "-q", INSECURE, "--arch", "arm64", &multi])
            .ok(),
        image_id(&ctx, "armish")
    );
    fresh
        .skiff(["pull", INSECURE, "--platform", "linux/s390x", &multi])
        .fails(125, "linux/arm64");
}

#[test]
fn corrupted_blob_is_refused_and_leaves_no_trace() {
    let registry = Registry::start(Access::Open);
    let source = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let name = registry.name("corrupt:1");
    let digest_file = source.dir.join("digest");
    source
        .skiff([
            "push",
            INSECURE,
            "--digestfile",
            digest_file.to_str().unwrap(),
            "busybox",
            &name,
        ])
        .ok();
    let manifest: serde_json::Value =
        serde_json::from_str(source.skiff(["manifest", "inspect", INSECURE, &name]).ok()).unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    // Flip bytes in the middle of the stored layer: same size, wrong content.
    let path = registry.blob_path(layer);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 64] {
        *b ^= 0xff;
    }
    std::fs::write(&path, bytes).unwrap();

    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode);
        let failed = ctx.skiff(["pull", INSECURE, &name]);
        assert_eq!(failed.code, 125, "{}", failed.stderr);
        assert!(
            failed.stderr.contains("mismatch")
                || failed.stderr.contains("corrupt")
                || failed.stderr.contains("invalid"),
            "{}",
            failed.stderr
        );
        assert_eq!(ctx.skiff(["images", "-q"]).ok(), "");
        for dir in ["storage/layers", "storage/layer-blobs"] {
            let left: Vec<_> = std::fs::read_dir(ctx.root().join(dir))
                .map(|d| d.flatten().map(|e| e.file_name()).collect())
                .unwrap_or_default();
            assert!(left.is_empty(), "{mode:?} {dir}: {left:?}");
        }
    }
}

#[test]
fn concurrent_pulls_of_one_image_both_succeed() {
    let registry = Registry::start(Access::Open);
    let source = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let name = registry.name("shared:1");
    source.skiff(["push", INSECURE, "busybox", &name]).ok();
    let ctx = TestContext::new(SKIFF, Mode::Root);
    let children: Vec<_> = (0..4)
        .map(|_| {
            ctx.command(["pull", "-q", INSECURE, &name])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_eq!(ctx.skiff(["images", "-q"]).ok().lines().count(), 1);
    assert_eq!(ctx.skiff(["run", "--rm", &name, "echo", "ok"]).ok(), "ok");
}

#[test]
fn bearer_token_registry() {
    let registry = Registry::start(Access::Token {
        user: "carol",
        password: "t0ken",
    });
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let name = registry.name(&format!("{mode:?}/tokened:1").to_lowercase());
        ctx.skiff(["push", INSECURE, "busybox", &name])
            .fails(125, "unauthorized");
        ctx.skiff_with_input(
            &[
                "login",
                INSECURE,
                "-u",
                "carol",
                "--password-stdin",
                &registry.address,
            ],
            b"nope\n",
        )
        .fails(125, "invalid username/password");
        ctx.skiff([
            "login",
            INSECURE,
            "-u",
            "carol",
            "-p",
            "t0ken",
            &registry.address,
        ])
        .ok();
        ctx.skiff(["push", INSECURE, "busybox", &name]).ok();
        // A second repository: the blob is mounted across repositories with a token for both.
        let second = registry.name(&format!("{mode:?}/second:1").to_lowercase());
        let pushed = ctx.skiff(["push", INSECURE, "busybox", &second]);
        pushed.ok();
        assert!(
            pushed.stderr.contains("skipped: already exists"),
            "{}",
            pushed.stderr
        );
        let fresh = TestContext::new(SKIFF, mode);
        fresh
            .skiff(["pull", "-q", INSECURE, "--creds", "carol:t0ken", &second])
            .ok();
        assert_eq!(
            fresh.skiff(["run", "--rm", &second, "echo", "token"]).ok(),
            "token"
        );
    }
}

#[test]
fn mirrors_in_registries_conf_serve_pulls() {
    let mirror = Registry::start(Access::Open);
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    ctx.skiff(["push", INSECURE, "busybox", &mirror.name("tools/busybox:1")])
        .ok();
    // The registry proper is down; its mirror has the image.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let primary = closed.local_addr().unwrap().to_string();
    drop(closed);
    std::fs::write(
        ctx.dir.join("registries.conf"),
        format!(
            "[[registry]]\nlocation = \"{primary}\"\n[[registry.mirror]]\nlocation = \"{}\"\ninsecure = true\n",
            mirror.address
        ),
    )
    .unwrap();
    let name = format!("{primary}/tools/busybox:1");
    let fresh = TestContext::new(SKIFF, Mode::Root);
    std::fs::copy(
        ctx.dir.join("registries.conf"),
        fresh.dir.join("registries.conf"),
    )
    .unwrap();
    let pulled = fresh.skiff(["pull", &name]);
    pulled.ok();
    assert!(
        pulled.stderr.contains(&format!("Trying to pull {name}...")),
        "the name asked for, not the mirror: {}",
        pulled.stderr
    );
    assert_eq!(
        fresh
            .skiff(["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .ok(),
        name,
        "named after the image asked for, not the mirror"
    );
    // A blocked registry is refused before any connection.
    std::fs::write(
        fresh.dir.join("registries.conf"),
        format!(
            "[[registry]]\nlocation = \"{}\"\nblocked = true\n",
            mirror.address
        ),
    )
    .unwrap();
    fresh
        .skiff(["pull", INSECURE, &mirror.name("tools/busybox:1")])
        .fails(125, "blocked");
}

#[test]
fn image_copy_between_transports() {
    let registry = Registry::start(Access::Open);
    for mode in Mode::BOTH {
        let ctx = TestContext::new(SKIFF, mode).with_busybox();
        let id = image_id(&ctx, "busybox");
        let out = ctx.scratch("copies");
        let layout = format!("oci:{}:copied:1", out.join("layout").display());
        let archive = format!("docker-archive:{}", out.join("d.tar").display());
        let remote = format!(
            "docker://{}",
            registry.name(&format!("{mode:?}/copied:1").to_lowercase())
        );
        // local → OCI layout → docker-archive → registry → local under a new name.
        ctx.skiff(["image", "copy", "containers-storage:busybox", &layout])
            .ok();
        assert!(out.join("layout/index.json").exists());
        ctx.skiff(["image", "copy", &layout, &archive]).ok();
        ctx.skiff([
            "image",
            "copy",
            "--dest-tls-verify=false",
            &archive,
            &remote,
        ])
        .ok();
        // Copies that only passed through leave the store as it was.
        assert_eq!(ctx.skiff(["images", "-q"]).ok().lines().count(), 1);

        let fresh = TestContext::new(SKIFF, mode);
        fresh
            .skiff([
                "image",
                "copy",
                "--src-tls-verify=false",
                &remote,
                "containers-storage:localhost/here:2",
            ])
            .ok();
        assert_eq!(image_id(&fresh, "localhost/here:2"), id);
        fresh
            .skiff(["image", "copy", "busybox", "oci:/tmp/x"])
            .fails(125, "TRANSPORT:NAME");
        fresh
            .skiff(["image", "copy", "dir:/tmp/x", "oci:/tmp/y"])
            .fails(125, "docker://");
    }
}

#[test]
fn tls_registry_with_a_private_ca() {
    let registry = Registry::start_tls();
    let ca_dir = {
        let ctx_dir = registry.dir.join("certs");
        std::fs::create_dir_all(&ctx_dir).unwrap();
        std::fs::copy(registry.ca_certificate(), ctx_dir.join("ca.crt")).unwrap();
        ctx_dir
    };
    let ctx = TestContext::new(SKIFF, Mode::Root).with_busybox();
    let name = registry.name("secure:1");
    // Unknown CA: refused, naming the way out.
    ctx.skiff(["push", "busybox", &name])
        .fails(125, "TLS verification failed");
    // --cert-dir trusts the CA; --tls-verify=false trusts anything.
    ctx.skiff([
        "push",
        "--cert-dir",
        ca_dir.to_str().unwrap(),
        "busybox",
        &name,
    ])
    .ok();
    let fresh = TestContext::new(SKIFF, Mode::Root);
    fresh
        .skiff(["pull", "-q", "--cert-dir", ca_dir.to_str().unwrap(), &name])
        .ok();
    fresh.skiff(["rmi", "-a", "-f"]).ok();
    fresh.skiff(["pull", "-q", INSECURE, &name]).ok();

    // A user's certs.d/<registry>/ is read without any flag, as Podman reads it.
    let user = TestContext::new(SKIFF, Mode::Rootless);
    user.skiff(["pull", &name]).fails(125, "--tls-verify=false");
    let certs = user
        .dir
        .join(".config/containers/certs.d")
        .join(&registry.address);
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(registry.ca_certificate(), certs.join("ca.crt")).unwrap();
    let status = std::process::Command::new("chown")
        .args(["-R", "skiff-test"])
        .arg(user.dir.join(".config"))
        .status()
        .unwrap();
    assert!(status.success());
    user.skiff(["pull", "-q", &name]).ok();
}
