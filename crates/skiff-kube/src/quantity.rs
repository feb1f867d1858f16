//! Kubernetes quantities for memory (`128Mi`, `1G`, `268435456`) and CPU (`500m`, `0.5`, `2`),
//! read into what `--memory` and `--cpus` take, and written back.

/// Bytes of a memory quantity, or None when it is not one.
pub fn memory_bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale: f64 = match suffix {
        "" => 1.0,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "Pi" => 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = (number * scale).ceil();
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

/// CPUs of a CPU quantity (`500m` is 0.5), or None when it is not one.
pub fn cpus(text: &str) -> Option<f64> {
    let text = text.trim();
    let value = match text.strip_suffix('m') {
        Some(millis) => millis.parse::<f64>().ok()? / 1000.0,
        None => text.parse::<f64>().ok()?,
    };
    (value.is_finite() && value >= 0.0).then_some(value)
}

/// A memory limit as Kubernetes prints one: in Mi or Ki when exact, else bytes.
pub fn memory_text(bytes: u64) -> String {
    const MI: u64 = 1024 * 1024;
    if bytes > 0 && bytes.is_multiple_of(MI) {
        format!("{}Mi", bytes / MI)
    } else if bytes > 0 && bytes.is_multiple_of(1024) {
        format!("{}Ki", bytes / 1024)
    } else {
        bytes.to_string()
    }
}

/// A CPU limit in millicores, as Kubernetes prints one.
pub fn cpu_text(cpus: f64) -> String {
    let millis = (cpus * 1000.0).round() as u64;
    if millis.is_multiple_of(1000) {
        (millis / 1000).to_string()
    } else {
        format!("{millis}m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_quantities_read_as_kubernetes_does() {
        assert_eq!(memory_bytes("128Mi"), Some(128 * 1024 * 1024));
        assert_eq!(memory_bytes("1G"), Some(1_000_000_000));
        assert_eq!(memory_bytes("1.5Gi"), Some(1_610_612_736));
        assert_eq!(memory_bytes("4096"), Some(4096));
        assert_eq!(memory_bytes("12x"), None);
        assert_eq!(memory_bytes("Mi"), None);
        assert_eq!(memory_bytes("-1"), None);
        assert_eq!(memory_bytes("1e400"), None);
    }

    #[test]
    fn cpu_quantities_read_as_kubernetes_does() {
        assert_eq!(cpus("500m"), Some(0.5));
        assert_eq!(cpus("2"), Some(2.0));
        assert_eq!(cpus("0.25"), Some(0.25));
        assert_eq!(cpus("lots"), None);
        assert_eq!(cpus("-1"), None);
    }

    #[test]
    fn limits_are_written_back_in_kubernetes_units() {
        assert_eq!(memory_text(64 * 1024 * 1024), "64Mi");
        assert_eq!(memory_text(1536), "1536");
        assert_eq!(memory_text(2048), "2Ki");
        assert_eq!(cpu_text(0.5), "500m");
        assert_eq!(cpu_text(2.0), "2");
        assert_eq!(memory_bytes(&memory_text(123_456_789)), Some(123_456_789));
    }
}
