//! `--userns`, `--uidmap` and `--gidmap`: the user namespace a container runs in, and its ID
//! maps. IDs outside are the engine's: the host's for root, those of the rootless engine's own
//! user namespace otherwise (where the user is 0 and the subordinate IDs follow), as Podman's
//! intermediate namespace.
use serde::{Deserialize, Serialize};

use crate::error::SpecError;

/// What `--userns` asked.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum UserNamespace {
    /// The engine's own: the host's for root, the rootless engine's for a user.
    #[default]
    Host,
    /// `keep-id[:uid=U,gid=G]`: the user's own IDs are U and G inside (default the same as
    /// outside), and the process runs as them. Rootless only.
    KeepId { uid: Option<u32>, gid: Option<u32> },
    /// `nomap`: the user's own IDs are not mapped inside at all. Rootless only (and refused
    /// by the engine: the image's files are the user's).
    NoMap,
    /// `--uidmap`/`--gidmap`: the maps as given.
    Private,
    /// `container:NAME`: another container's (held as its full ID once created), as a pod's
    /// members join their infra container's.
    Container(String),
}

impl UserNamespace {
    /// As inspect shows it (HostConfig.UsernsMode): empty for the engine's own.
    pub fn name(&self) -> String {
        match self {
            UserNamespace::Host => String::new(),
            UserNamespace::KeepId { uid, gid } => {
                let options: Vec<String> = [("uid", uid), ("gid", gid)]
                    .into_iter()
                    .filter_map(|(key, value)| value.map(|v| format!("{key}={v}")))
                    .collect();
                match options.is_empty() {
                    true => "keep-id".into(),
                    false => format!("keep-id:{}", options.join(",")),
                }
            }
            UserNamespace::NoMap => "nomap".into(),
            UserNamespace::Private => "private".into(),
            UserNamespace::Container(id) => format!("container:{id}"),
        }
    }
}

/// One range of an ID map: `size` IDs from `container_id` inside are `host_id` and up outside.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdMapping {
    pub container_id: u32,
    pub host_id: u32,
    pub size: u32,
}

/// `--userns VALUE`.
pub fn parse_userns(value: &str) -> Result<UserNamespace, SpecError> {
    let unsupported = |what: &str| {
        SpecError::Option(format!(
            "--userns {value:?}: {what} is not supported by skiff (use keep-id, nomap, host or --uidmap)"
        ))
    };
    let (mode, options) = value.split_once(':').unwrap_or((value, ""));
    match mode {
        "" | "host" if options.is_empty() => Ok(UserNamespace::Host),
        "keep-id" => {
            let (mut uid, mut gid) = (None, None);
            for option in options.split(',').filter(|o| !o.is_empty()) {
                let number = |v: &str| {
                    v.parse::<u32>().map_err(|_| {
                        SpecError::Option(format!("--userns {value:?}: {v:?} is not an ID"))
                    })
                };
                match option.split_once('=') {
                    Some(("uid", v)) => uid = Some(number(v)?),
                    Some(("gid", v)) => gid = Some(number(v)?),
                    _ => {
                        return Err(SpecError::Option(format!(
                            "--userns {value:?}: unknown keep-id option {option:?} (expected uid=UID or gid=GID)"
                        )));
                    }
                }
            }
            Ok(UserNamespace::KeepId { uid, gid })
        }
        "nomap" if options.is_empty() => Ok(UserNamespace::NoMap),
        "container" if !options.is_empty() => Ok(UserNamespace::Container(options.to_string())),
        "auto" => Err(unsupported("auto")),
        "ns" => Err(unsupported("joining a user namespace by path")),
        "private" => Err(unsupported(mode)),
        _ => Err(SpecError::Option(format!(
            "--userns {value:?}: expected host, keep-id[:uid=UID,gid=GID], nomap or container:NAME"
        ))),
    }
}

/// `--uidmap`/`--gidmap CONTAINER_ID:HOST_ID:SIZE`.
pub fn parse_id_mapping(flag: &str, value: &str) -> Result<IdMapping, SpecError> {
    let invalid = || {
        SpecError::Option(format!(
            "--{flag} {value:?}: expected CONTAINER_ID:HOST_ID:SIZE"
        ))
    };
    let fields: Vec<u32> = value
        .split(':')
        .map(|field| field.parse::<u32>().map_err(|_| invalid()))
        .collect::<Result<_, _>>()?;
    let [container_id, host_id, size] = fields[..] else {
        return Err(invalid());
    };
    if size == 0 || container_id.checked_add(size).is_none() || host_id.checked_add(size).is_none()
    {
        return Err(invalid());
    }
    Ok(IdMapping {
        container_id,
        host_id,
        size,
    })
}

/// The maps of `keep-id` (the user's own ID, 0 outside, is `inside` inside) over an engine
/// namespace of `available` IDs (0 is the user's own, the rest its subordinate IDs), as
/// Podman makes them: the others fill the IDs around it in order.
pub fn own_id_maps(inside: u32, available: u32) -> Vec<IdMapping> {
    let others = available.saturating_sub(1);
    let mut maps = Vec::new();
    let below = inside.min(others);
    if below > 0 {
        maps.push(IdMapping {
            container_id: 0,
            host_id: 1,
            size: below,
        });
    }
    maps.push(IdMapping {
        container_id: inside,
        host_id: 0,
        size: 1,
    });
    if others > below {
        maps.push(IdMapping {
            container_id: inside + 1,
            host_id: below + 1,
            size: others - below,
        });
    }
    maps
}

/// Whether `id` inside is mapped.
pub fn maps_id(maps: &[IdMapping], id: u32) -> bool {
    maps.iter().any(|m| {
        m.container_id <= id && u64::from(id) < u64::from(m.container_id) + u64::from(m.size)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(container_id: u32, host_id: u32, size: u32) -> IdMapping {
        IdMapping {
            container_id,
            host_id,
            size,
        }
    }

    #[test]
    fn userns_values_as_podman_spells_them() {
        assert_eq!(parse_userns("").unwrap(), UserNamespace::Host);
        assert_eq!(parse_userns("host").unwrap(), UserNamespace::Host);
        assert_eq!(
            parse_userns("keep-id").unwrap(),
            UserNamespace::KeepId {
                uid: None,
                gid: None
            }
        );
        let custom = parse_userns("keep-id:uid=200,gid=210").unwrap();
        assert_eq!(
            custom,
            UserNamespace::KeepId {
                uid: Some(200),
                gid: Some(210)
            }
        );
        assert_eq!(custom.name(), "keep-id:uid=200,gid=210");
        assert_eq!(parse_userns("nomap").unwrap(), UserNamespace::NoMap);
        assert_eq!(
            parse_userns("container:web").unwrap(),
            UserNamespace::Container("web".into())
        );
        for bad in [
            "keep-id:uid=x",
            "keep-id:size=3",
            "nomap:x",
            "container:",
            "sideways",
        ] {
            assert!(parse_userns(bad).is_err(), "{bad}");
        }
        assert!(
            parse_userns("auto")
                .unwrap_err()
                .to_string()
                .contains("auto is not supported")
        );
    }

    #[test]
    fn id_mappings_are_three_numbers() {
        assert_eq!(
            parse_id_mapping("uidmap", "0:100:5000").unwrap(),
            map(0, 100, 5000)
        );
        for bad in ["0:100", "0:100:0", "a:1:2", "0:1:2:3", "4294967295:0:2"] {
            assert!(parse_id_mapping("uidmap", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keep_id_maps_the_user_to_itself_and_the_rest_around_it() {
        // A user 1000 with 65536 subordinate IDs: the engine's namespace has 65537.
        assert_eq!(
            own_id_maps(1000, 65537),
            [map(0, 1, 1000), map(1000, 0, 1), map(1001, 1001, 64536)]
        );
        // keep-id:uid=0 keeps root root.
        assert_eq!(own_id_maps(0, 65537), [map(0, 0, 1), map(1, 1, 65536)]);
        // A user whose ID is beyond the subordinate range: the others all below it.
        assert_eq!(
            own_id_maps(100000, 65537),
            [map(0, 1, 65536), map(100000, 0, 1)]
        );
        // Only the user's own ID (no subordinate ranges).
        assert_eq!(own_id_maps(1000, 1), [map(1000, 0, 1)]);
        let maps = own_id_maps(1000, 65537);
        assert!(maps_id(&maps, 5) && maps_id(&maps, 1000) && !maps_id(&maps, 65537));
    }
}
