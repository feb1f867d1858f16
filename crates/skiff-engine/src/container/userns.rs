//! At create: the ID maps of a container with a user namespace of its own (`--userns keep-id`,
//! `nomap`, `--uidmap`), over the IDs the engine's own namespace has.
use skiff_spec::{ContainerSpec, IdMapping, UserNamespace, own_id_maps};

use crate::engine::Engine;
use crate::error::EngineError;
use crate::options::id_map_ranges;

/// What the engine's user namespace maps (a `/proc/self/uid_map`): how many IDs it has, and
/// the host's ID of its 0 (the user's own, when rootless).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EngineIds {
    available: u32,
    own: u32,
}

impl EngineIds {
    fn of(map: &str) -> Self {
        let ranges = id_map_ranges(map);
        let available = ranges.iter().map(|(_, _, count)| count).sum::<u64>();
        let own = ranges
            .iter()
            .find(|(inside, _, _)| *inside == 0)
            .map_or(0, |(_, outside, _)| *outside);
        Self {
            available: available.min(u64::from(u32::MAX)) as u32,
            own: own as u32,
        }
    }

    fn read(file: &str) -> Self {
        Self::of(&std::fs::read_to_string(file).unwrap_or_default())
    }
}

impl Engine {
    /// Fills in the spec's ID maps for its `--userns`; keep-id also runs the process as the
    /// user (unless `--user` says otherwise) with the user's passwd entry.
    pub(crate) fn resolve_user_namespace(
        &self,
        spec: &mut ContainerSpec,
    ) -> Result<(), EngineError> {
        let rootless_only = |mode: &str| {
            EngineError::InvalidArgument(format!("{mode} is only supported in rootless mode"))
        };
        match spec.userns.clone() {
            UserNamespace::Host => {
                spec.uid_map.clear();
                spec.gid_map.clear();
            }
            UserNamespace::KeepId { uid, gid } => {
                if !self.options.rootless {
                    return Err(rootless_only("keep-id"));
                }
                let (uids, gids) = (
                    EngineIds::read("/proc/self/uid_map"),
                    EngineIds::read("/proc/self/gid_map"),
                );
                let inside = (uid.unwrap_or(uids.own), gid.unwrap_or(gids.own));
                spec.uid_map = own_id_maps(inside.0, uids.available);
                spec.gid_map = own_id_maps(inside.1, gids.available);
                if spec.user.is_none() {
                    spec.user = Some(format!("{}:{}", inside.0, inside.1));
                }
                // The user's own entry, as Podman adds it, when the IDs are the user's own.
                let own = uids.own.to_string();
                if uid.is_none()
                    && !spec.hostuser.contains(&own)
                    && crate::hostfiles::host_passwd_entry(&own).is_ok()
                {
                    spec.hostuser.push(own);
                }
            }
            UserNamespace::NoMap => {
                if !self.options.rootless {
                    return Err(rootless_only("nomap"));
                }
                return Err(unmapped_owner("--userns nomap"));
            }
            UserNamespace::Container(name) => {
                let other = self.containers.lookup(&name)?;
                if other.spec.uid_map.is_empty() {
                    // Its user namespace is the engine's own.
                    spec.userns = UserNamespace::Host;
                    return Ok(());
                }
                spec.userns = UserNamespace::Container(other.id);
                spec.uid_map = other.spec.uid_map;
                spec.gid_map = other.spec.gid_map;
                // keep-id's user, as in the namespace's own container.
                if matches!(other.spec.userns, UserNamespace::KeepId { .. }) {
                    if spec.user.is_none() {
                        spec.user = other.spec.user;
                    }
                    for user in other.spec.hostuser {
                        if !spec.hostuser.contains(&user) {
                            spec.hostuser.push(user);
                        }
                    }
                }
            }
            UserNamespace::Private => {
                let (uids, gids) = (
                    EngineIds::read("/proc/self/uid_map"),
                    EngineIds::read("/proc/self/gid_map"),
                );
                check_within("uidmap", &spec.uid_map, uids.available)?;
                check_within("gidmap", &spec.gid_map, gids.available)?;
                if !maps_engine_owner(&spec.uid_map) || !maps_engine_owner(&spec.gid_map) {
                    return Err(unmapped_owner("a --uidmap/--gidmap without HOST_ID 0"));
                }
            }
        }
        Ok(())
    }
}

/// The image's files are the engine's ID 0's (the user's own, when rootless): a map that
/// leaves it out would give the container a root filesystem it cannot write, or enter.
/// Podman copies the image with its owners shifted for such maps; skiff does not (yet).
fn unmapped_owner(what: &str) -> EngineError {
    EngineError::InvalidArgument(format!(
        "{what}: the image's files belong to the ID it leaves unmapped, and skiff does not copy images with shifted owners: use --userns keep-id, or a map with HOST_ID 0"
    ))
}

fn maps_engine_owner(maps: &[IdMapping]) -> bool {
    maps.iter().any(|m| m.host_id == 0)
}

/// Every ID a map names outside must be one the engine's namespace has.
fn check_within(flag: &str, maps: &[IdMapping], available: u32) -> Result<(), EngineError> {
    for map in maps {
        if u64::from(map.host_id) + u64::from(map.size) > u64::from(available) {
            return Err(EngineError::InvalidArgument(format!(
                "--{flag} {}:{}:{}: IDs beyond the {available} this user namespace has (see /etc/subuid and /etc/subgid)",
                map.container_id, map.host_id, map.size
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engines_ids_come_from_its_map() {
        let rootless = "         0       1000          1\n         1     100000      65536\n";
        assert_eq!(
            EngineIds::of(rootless),
            EngineIds {
                available: 65537,
                own: 1000
            }
        );
        let root = "         0          0 4294967295\n";
        assert_eq!(
            EngineIds::of(root),
            EngineIds {
                available: u32::MAX,
                own: 0
            }
        );
    }

    #[test]
    fn maps_must_stay_within_the_namespace() {
        let map = IdMapping {
            container_id: 0,
            host_id: 1,
            size: 65536,
        };
        assert!(check_within("uidmap", &[map], 65537).is_ok());
        let error = check_within("uidmap", &[map], 1000)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("--uidmap 0:1:65536: IDs beyond the 1000"),
            "{error}"
        );
    }
}
