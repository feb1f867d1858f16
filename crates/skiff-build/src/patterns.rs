//! Path patterns: `.containerignore`/`.dockerignore` (moby's patternmatcher: `*`, `?`,
//! `[a-z]`, `**` for any number of directories, `!` exceptions, last match wins, a match on
//! a directory covers what is in it) and the globs of COPY sources (Go's `filepath.Match`).
use std::path::Path;

/// Whether one path segment matches one pattern segment (`*`, `?`, `[...]`, `\` escapes).
pub fn segment_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    matches_from(&p, &n)
}

fn matches_from(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => (0..=n.len()).any(|skip| matches_from(&p[1..], &n[skip..])),
        Some('?') => !n.is_empty() && matches_from(&p[1..], &n[1..]),
        Some('[') => {
            let Some(close) = p.iter().skip(1).position(|&c| c == ']').map(|i| i + 1) else {
                return n.first() == Some(&'[') && matches_from(&p[1..], &n[1..]);
            };
            let Some(&c) = n.first() else { return false };
            let class = &p[1..close];
            let (negated, class) = match class.first() {
                Some('^') | Some('!') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut found = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    if class[i] <= c && c <= class[i + 2] {
                        found = true;
                    }
                    i += 3;
                } else {
                    if class[i] == c {
                        found = true;
                    }
                    i += 1;
                }
            }
            found != negated && matches_from(&p[close + 1..], &n[1..])
        }
        Some('\\') if p.len() > 1 => n.first() == Some(&p[1]) && matches_from(&p[2..], &n[1..]),
        Some(c) => n.first() == Some(c) && matches_from(&p[1..], &n[1..]),
    }
}

/// Whether any of `pattern`'s characters make it a glob.
pub fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// A path (segments) against a pattern (segments, `**` matching any number of them).
fn path_matches(pattern: &[String], path: &[&str]) -> bool {
    match pattern.first() {
        None => path.is_empty(),
        Some(p) if p == "**" => {
            (0..=path.len()).any(|skip| path_matches(&pattern[1..], &path[skip..]))
        }
        Some(p) => {
            !path.is_empty()
                && segment_matches(p, path[0])
                && path_matches(&pattern[1..], &path[1..])
        }
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .map(str::to_string)
        .collect()
}

/// The rules of an ignore file.
#[derive(Debug, Default, Clone)]
pub struct IgnoreRules {
    rules: Vec<(Vec<String>, bool)>,
}

impl IgnoreRules {
    /// Parses an ignore file: one pattern a line, `#` comments, `!` for exceptions.
    pub fn parse(text: &str) -> Self {
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|line| match line.strip_prefix('!') {
                Some(rest) => (segments(rest.trim()), true),
                None => (segments(line), false),
            })
            .filter(|(segments, _)| !segments.is_empty())
            .collect();
        Self { rules }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether a path relative to the context is left out of it.
    pub fn excludes(&self, relative: &Path) -> bool {
        let text = relative.to_string_lossy();
        let path: Vec<&str> = text
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .collect();
        let mut excluded = false;
        for (pattern, exception) in &self.rules {
            // A pattern matches the path itself or any directory it is in.
            let hit = (1..=path.len()).any(|len| path_matches(pattern, &path[..len]));
            if hit {
                excluded = !exception;
            }
        }
        excluded
    }

    /// Whether an exception could bring back something inside an excluded directory, so
    /// that the directory must still be walked.
    pub fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|(_, exception)| *exception)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_match_like_go() {
        assert!(segment_matches("*.txt", "a.txt"));
        assert!(!segment_matches("*.txt", "a.txt.bak"));
        assert!(segment_matches("a?c", "abc"));
        assert!(segment_matches("[a-c]x", "bx"));
        assert!(!segment_matches("[^a-c]x", "bx"));
        assert!(segment_matches("\\*", "*"));
        assert!(!segment_matches("\\*", "a"));
    }

    #[test]
    fn ignore_rules_like_dockerignore() {
        let rules = IgnoreRules::parse("# comment\n*.log\n/build\n**/tmp\n!keep.log\nsecret/\n");
        assert!(rules.excludes(Path::new("a.log")));
        assert!(!rules.excludes(Path::new("keep.log")));
        assert!(!rules.excludes(Path::new("sub/a.log")));
        assert!(rules.excludes(Path::new("build/out/x")));
        assert!(rules.excludes(Path::new("deep/er/tmp/file")));
        assert!(rules.excludes(Path::new("secret/key")));
        assert!(!rules.excludes(Path::new("src/main.rs")));
        assert!(rules.has_exceptions());
    }
}
