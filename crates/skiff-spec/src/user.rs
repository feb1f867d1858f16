//! `--user` and the image's USER resolved against the container's own /etc/passwd and /etc/group.
use std::fs;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::SpecError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub home: String,
}

/// Resolves `name`, `uid`, `name:group`, `uid:gid` (or nothing: root) in the container's rootfs.
/// Numeric IDs need no passwd entry, as in Podman.
pub fn resolve_user(rootfs: &Path, user: Option<&str>) -> Result<ResolvedUser, SpecError> {
    resolve_user_with(|relative| read_container_file(rootfs, relative), user)
}

/// `resolve_user` with the container's files read by `read` ("etc/passwd", "etc/group").
pub fn resolve_user_with(
    read: impl Fn(&str) -> String,
    user: Option<&str>,
) -> Result<ResolvedUser, SpecError> {
    let user = user.filter(|u| !u.is_empty()).unwrap_or("0");
    let (user_part, group_part) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let passwd = read("etc/passwd");
    let entry = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 7 && (f[0] == user_part || f[2] == user_part));
    let (uid, mut gid, home, name) = match (entry, user_part.parse::<u32>()) {
        (Some(f), _) => (
            f[2].parse().unwrap_or(0),
            f[3].parse().unwrap_or(0),
            f[5].to_string(),
            Some(f[0].to_string()),
        ),
        (None, Ok(uid)) => (uid, uid, "/".to_string(), None),
        (None, Err(_)) => return Err(SpecError::UnknownUser(user_part.to_string())),
    };
    let group = read("etc/group");
    let groups: Vec<Vec<&str>> = group
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|f| f.len() >= 4)
        .collect();
    if let Some(group_part) = group_part {
        gid = match groups
            .iter()
            .find(|f| f[0] == group_part || f[2] == group_part)
        {
            Some(f) => f[2].parse().unwrap_or(0),
            None => group_part
                .parse()
                .map_err(|_| SpecError::UnknownGroup(group_part.to_string()))?,
        };
    }
    let additional_gids = match (&name, group_part) {
        (Some(name), None) => groups
            .iter()
            .filter(|f| f[3].split(',').any(|m| m == name))
            .filter_map(|f| f[2].parse().ok())
            .filter(|g| *g != gid)
            .collect(),
        _ => Vec::new(),
    };
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
        home: if home.is_empty() { "/".into() } else { home },
    })
}

/// `--group-add keep-groups`: the process keeps the groups of the one that starts it (none
/// are set, as crun's keep_original_groups).
pub const KEEP_GROUPS: &str = "keep-groups";

/// Adds `--group-add`'s groups to the user's supplementary ones: numbers as they are, names
/// from the container's /etc/group (read by `read`, as for `resolve_user_with`).
/// `keep-groups` sets none, so the process keeps the groups of the one that starts it.
pub fn add_groups(
    user: &mut ResolvedUser,
    groups: &[String],
    read: impl Fn(&str) -> String,
) -> Result<(), SpecError> {
    if groups.iter().any(|g| g == KEEP_GROUPS) {
        user.additional_gids.clear();
        return Ok(());
    }
    if groups.is_empty() {
        return Ok(());
    }
    let file = read("etc/group");
    for group in groups {
        let gid = match group.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => file
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|f| f.len() >= 3 && f[0] == group)
                .and_then(|f| f[2].parse().ok())
                .ok_or_else(|| SpecError::UnknownGroup(group.clone()))?,
        };
        if !user.additional_gids.contains(&gid) {
            user.additional_gids.push(gid);
        }
    }
    Ok(())
}

/// `add_groups` with the container's files under `rootfs`.
pub fn add_groups_in(
    rootfs: &Path,
    user: &mut ResolvedUser,
    groups: &[String],
) -> Result<(), SpecError> {
    add_groups(user, groups, |relative| {
        read_container_file(rootfs, relative)
    })
}

/// Reads a small file of the container, refusing to follow a symlink out of it.
pub fn read_container_file(rootfs: &Path, relative: &str) -> String {
    let mut text = String::new();
    if let Ok(mut file) = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc_o_nofollow())
        .open(rootfs.join(relative))
    {
        let _ = file.by_ref().take(4 << 20).read_to_string(&mut text);
    }
    text
}

const fn libc_o_nofollow() -> i32 {
    0o400000 // O_NOFOLLOW on Linux
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ids_and_groups_resolve() {
        let root = std::env::temp_dir().join(format!("skiff-user-{}", std::process::id()));
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::write(
            root.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1000::/home/web:/bin/sh\n",
        )
        .unwrap();
        fs::write(
            root.join("etc/group"),
            "root:x:0:\nweb:x:1000:\nwheel:x:10:web\n",
        )
        .unwrap();
        let root_user = resolve_user(&root, None).unwrap();
        assert_eq!(
            (root_user.uid, root_user.gid, root_user.home.as_str()),
            (0, 0, "/root")
        );
        let web = resolve_user(&root, Some("web")).unwrap();
        assert_eq!(
            (web.uid, web.gid, web.additional_gids.clone()),
            (1000, 1000, vec![10])
        );
        assert_eq!(resolve_user(&root, Some("1234:wheel")).unwrap().gid, 10);
        assert_eq!(resolve_user(&root, Some("1234")).unwrap().uid, 1234);
        assert!(resolve_user(&root, Some("nobody-here")).is_err());
    }

    #[test]
    fn group_add_takes_numbers_and_the_containers_names() {
        let group = "root:x:0:\nwheel:x:10:web\naudio:x:29:\n";
        let read = |file: &str| {
            if file == "etc/group" {
                group.to_string()
            } else {
                String::new()
            }
        };
        let mut user = resolve_user_with(read, Some("1000")).unwrap();
        add_groups(
            &mut user,
            &["audio".into(), "457".into(), "29".into()],
            read,
        )
        .unwrap();
        assert_eq!(user.additional_gids, vec![29, 457]);
        let err = add_groups(&mut user, &["nosuch".into()], read).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unable to find group nosuch: no matching entries in group file"
        );
        add_groups(&mut user, &[KEEP_GROUPS.into()], read).unwrap();
        assert!(user.additional_gids.is_empty());
    }
}
