//! Container IDs (64 random hex digits) and generated names (`adjective_noun`, as Podman).

pub fn random_id() -> String {
    let mut bytes = [0u8; 32];
    fill_random(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn random_name() -> String {
    const ADJECTIVES: &[&str] = &[
        "admiring", "brave", "busy", "clever", "cool", "eager", "elastic", "epic", "festive",
        "gifted", "happy", "hopeful", "jolly", "keen", "lucid", "modest", "nifty", "quirky",
        "relaxed", "serene", "sharp", "stoic", "tender", "vibrant", "wizardly", "zealous",
    ];
    const NOUNS: &[&str] = &[
        "babbage", "curie", "darwin", "euler", "fermat", "galileo", "hopper", "hypatia", "kepler",
        "lamarr", "lovelace", "meitner", "newton", "noether", "pascal", "ritchie", "shannon",
        "tesla", "thompson", "turing", "wozniak", "yalow",
    ];
    let mut bytes = [0u8; 4];
    fill_random(&mut bytes);
    let value = u32::from_ne_bytes(bytes) as usize;
    format!(
        "{}_{}",
        ADJECTIVES[value % ADJECTIVES.len()],
        NOUNS[(value / ADJECTIVES.len()) % NOUNS.len()]
    )
}

/// Names follow Docker's rule so they work as host names and in paths.
pub fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(b))
}

fn fill_random(buffer: &mut [u8]) {
    use std::io::Read;
    if let Ok(mut file) = std::fs::File::open("/dev/urandom")
        && file.read_exact(buffer).is_ok()
    {
        return;
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(1);
    for (i, b) in buffer.iter_mut().enumerate() {
        *b = (seed >> ((i % 16) * 8)) as u8 ^ (std::process::id() as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_have_the_right_shape() {
        let id = random_id();
        assert_eq!(id.len(), 64);
        assert_ne!(id, random_id());
        assert!(valid_name(&random_name()));
        assert!(!valid_name("-bad") && !valid_name("a b") && !valid_name(""));
    }
}
