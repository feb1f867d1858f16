//! The generator systemd runs: Quadlet files in, services (and their `[Install]` links) out.
use std::path::{Path, PathBuf};

use super::{Service, convert, find_files, search_paths};

/// The generator: `skiff-quadlet [-dryrun] [-user] [-v] [-no-kmsg-log] NORMAL_DIR [EARLY_DIR
/// LATE_DIR]`, as systemd runs generators (and as Podman's quadlet takes its flags). Installed
/// as `skiff-user-generator` it works on the user's files.
pub fn generator_main(args: &[String]) -> i32 {
    let program = args.first().map(String::as_str).unwrap_or("skiff-quadlet");
    let mut user = program.contains("user-generator");
    let (mut dry_run, mut verbose) = (false, false);
    let mut dirs = Vec::new();
    for arg in &args[1..] {
        match arg.trim_start_matches('-') {
            "dryrun" if arg.starts_with('-') => dry_run = true,
            "user" if arg.starts_with('-') => user = true,
            "v" if arg.starts_with('-') => verbose = true,
            "no-kmsg-log" if arg.starts_with('-') => {}
            _ if arg.starts_with('-') => {
                eprintln!("{program}: unknown option {arg}");
                return 1;
            }
            _ => dirs.push(PathBuf::from(arg)),
        }
    }
    let Some(output) = dirs.first().cloned().or_else(|| dry_run.then(PathBuf::new)) else {
        eprintln!("{program}: missing output directory (or -dryrun)");
        return 1;
    };
    let search = search_paths(user);
    if verbose {
        for dir in &search {
            eprintln!("{program}: reading Quadlet files from {}", dir.display());
        }
    }
    let (files, mut errors) = find_files(&search);
    let converted = convert(&files, &skiff_program());
    errors.extend(converted.errors);
    for message in converted.warnings.iter().chain(&errors) {
        eprintln!("{program}: {message}");
    }
    for service in &converted.services {
        if dry_run {
            println!("---{}---\n{}", service.name, service.text);
            continue;
        }
        if let Err(message) = write_service(&output, service) {
            eprintln!("{program}: {message}");
            errors.push(message);
        } else if verbose {
            eprintln!("{program}: wrote {}", output.join(&service.name).display());
        }
    }
    i32::from(dry_run && !errors.is_empty())
}

/// The skiff the services run: the one beside this program, else the one on the PATH.
fn skiff_program() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|exe| std::fs::canonicalize(exe).ok())
        .map(|exe| exe.with_file_name("skiff"))
        .filter(|skiff| skiff.exists())
        .map(|skiff| skiff.display().to_string())
        .unwrap_or_else(|| "/usr/bin/skiff".to_string())
}

/// Writes the service into systemd's generator directory, with the `.wants`/`.requires`
/// links its `[Install]` asks for.
fn write_service(dir: &Path, service: &Service) -> Result<(), String> {
    let path = dir.join(&service.name);
    std::fs::write(&path, &service.text).map_err(|e| format!("{}: {e}", path.display()))?;
    for (relation, target) in &service.install {
        let links = dir.join(format!("{target}.{relation}"));
        std::fs::create_dir_all(&links).map_err(|e| format!("{}: {e}", links.display()))?;
        let link = links.join(&service.name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(Path::new("..").join(&service.name), &link)
            .map_err(|e| format!("{}: {e}", link.display()))?;
    }
    Ok(())
}
