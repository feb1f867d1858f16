//! sha256 digests of streams, written as `sha256:<hex>` the way OCI names content.
use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

/// Passes bytes through (as a reader or a writer) while hashing them and counting them.
pub struct Digester<T> {
    inner: T,
    hasher: Sha256,
    count: u64,
}

impl<T> Digester<T> {
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// The wrapped reader or writer.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// As `finish`, also handing back the inner value (e.g. to flush a writer).
    pub fn finish_with<U>(
        self,
        close: impl FnOnce(T) -> io::Result<U>,
    ) -> io::Result<(String, u64)> {
        let result = (format!("sha256:{:x}", self.hasher.finalize()), self.count);
        close(self.inner)?;
        Ok(result)
    }

    /// The digest (`sha256:<hex>`) and byte count of everything that passed through.
    pub fn finish(self) -> (String, u64) {
        (format!("sha256:{:x}", self.hasher.finalize()), self.count)
    }
}

impl<R: Read> Read for Digester<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

impl<W: Write> Write for Digester<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// `sha256:<hex>` of a byte slice.
pub fn hex_digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// The hex part of a `sha256:<64 lowercase hex>` digest. Every digest that names a file in the
/// store passes here first: digests come from archives, manifests, image configs and registries,
/// and one like `sha256:../../etc` must never become a path.
pub fn sha256_hex(digest: &str) -> Result<&str, crate::StorageError> {
    match digest.strip_prefix("sha256:") {
        Some(hex)
            if hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
        {
            Ok(hex)
        }
        _ => Err(crate::StorageError::InvalidDigest(
            digest.escape_debug().to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sha256_with_64_lowercase_hex_names_a_file() {
        let good = hex_digest(b"");
        assert_eq!(sha256_hex(&good).unwrap(), &good[7..]);
        for bad in [
            "",
            "sha256:",
            "sha256:../../etc",
            "sha256:/etc",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855/..",
        ] {
            let err = sha256_hex(bad).unwrap_err();
            assert!(
                matches!(err, crate::StorageError::InvalidDigest(_)),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn empty_input_has_the_well_known_digest() {
        assert_eq!(
            hex_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut d = Digester::new(io::sink());
        d.write_all(b"abc").unwrap();
        let (digest, n) = d.finish();
        assert_eq!(n, 3);
        assert_eq!(
            digest,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
