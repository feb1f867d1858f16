//! A build context that comes as a stream (`skiff build -`, a REST API body): a tar archive
//! (plain or gzip) unpacked into a private directory, or a Containerfile alone with an empty
//! context, as Docker reads `docker build -`. The directory goes when the value is dropped.
use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

pub struct StreamContext {
    dir: PathBuf,
    /// The Containerfile when the stream was one (not an archive).
    file: Option<PathBuf>,
}

impl StreamContext {
    /// Reads the whole stream into a fresh directory below `parent`.
    pub fn read(input: impl Read, parent: &Path) -> io::Result<Self> {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let dir = parent.join(format!(
            "skiff-build-context-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        fs::create_dir_all(&dir)?;
        let mut context = Self { dir, file: None };
        let mut input = BufReader::with_capacity(64 * 1024, input);
        let head = input.fill_buf()?.to_vec();
        let gzip = head.starts_with(&[0x1f, 0x8b]);
        let tar = head.len() >= 262 && &head[257..262] == b"ustar";
        if gzip || tar {
            let reader: Box<dyn Read> = if gzip {
                Box::new(flate2::bufread::MultiGzDecoder::new(input))
            } else {
                Box::new(input)
            };
            let mut archive = tar::Archive::new(reader);
            for entry in archive.entries()? {
                // unpack_in refuses names that climb out of the directory.
                entry?.unpack_in(&context.dir)?;
            }
        } else {
            let file = context.dir.join(".skiff-stdin-Containerfile");
            let mut text = Vec::new();
            input.read_to_end(&mut text)?;
            fs::write(&file, text)?;
            context.file = Some(file);
        }
        Ok(context)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }
}

impl Drop for StreamContext {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_unpack_and_a_containerfile_stands_alone() {
        let parent = std::env::temp_dir();
        let context = StreamContext::read(&b"FROM busybox\nRUN true\n"[..], &parent).unwrap();
        let file = context.file().unwrap().to_path_buf();
        assert_eq!(
            fs::read_to_string(&file).unwrap(),
            "FROM busybox\nRUN true\n"
        );
        let dir = context.dir().to_path_buf();
        drop(context);
        assert!(!dir.exists());

        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, "Containerfile", &b"abc"[..])
            .unwrap();
        let archive = builder.into_inner().unwrap();
        let context = StreamContext::read(&archive[..], &parent).unwrap();
        assert!(context.file().is_none());
        assert_eq!(
            fs::read(context.dir().join("Containerfile")).unwrap(),
            b"abc"
        );
    }
}
