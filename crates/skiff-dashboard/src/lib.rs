//! skiff-dashboard: the web pages `skiff dashboard` serves beside the Docker-compatible API
//! (skiff-api), which the pages drive: containers, images, volumes and networks listed and
//! acted on, refreshed from the event log, and a terminal into a container. The assets are
//! part of the binary.
#![deny(unsafe_code)]

use skiff_api::{Page, Pages};

const FILES: [Page; 5] = [
    Page {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("assets/index.html"),
    },
    Page {
        path: "/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("assets/app.js"),
    },
    Page {
        path: "/style.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("assets/style.css"),
    },
    // xterm.js 5.5.0 (MIT, assets/vendor/xterm-LICENSE), as npm ships it: the terminal.
    Page {
        path: "/vendor/xterm.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("assets/vendor/xterm.js"),
    },
    Page {
        path: "/vendor/xterm.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("assets/vendor/xterm.css"),
    },
];

/// The pages, behind `token`.
pub fn pages(token: String) -> Pages {
    Pages {
        token,
        files: FILES.to_vec(),
    }
}

/// A token no one can guess: 128 random bits, in hex.
pub fn new_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_fresh_and_pages_are_embedded() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        let pages = pages(a);
        let index = std::str::from_utf8(pages.files[0].body).unwrap();
        assert!(index.contains("<script src=\"/app.js\">"));
        assert!(pages.files.iter().any(|p| p.path == "/style.css"));
    }
}
