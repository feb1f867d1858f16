//! systemd unit files as systemd reads them: `[Section]`s of `Key=value` lines, comments
//! (`#`, `;`), continuation lines (a trailing `\`), repeated keys; and Exec-line words with
//! systemd's quoting. Quadlet reads its files and writes the generated units with these.

/// One `[Section]` and its entries in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub entries: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitFile {
    pub sections: Vec<Section>,
}

impl UnitFile {
    /// Parses a unit file; the error names the line that is not one.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut unit = UnitFile::default();
        let mut pending = String::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim_end();
            if pending.is_empty() {
                let trimmed = line.trim_start();
                if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                    continue;
                }
            }
            if let Some(head) = line.strip_suffix('\\') {
                pending.push_str(head);
                pending.push(' ');
                continue;
            }
            pending.push_str(line);
            let full = std::mem::take(&mut pending);
            let full = full.trim();
            if let Some(name) = full.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                unit.sections.push(Section {
                    name: name.to_string(),
                    entries: Vec::new(),
                });
                continue;
            }
            let Some((key, value)) = full.split_once('=') else {
                return Err(format!("line {}: {full:?} is not KEY=VALUE", index + 1));
            };
            let Some(section) = unit.sections.last_mut() else {
                return Err(format!(
                    "line {}: {key:?} is outside any [section]",
                    index + 1
                ));
            };
            section
                .entries
                .push((key.trim().to_string(), value.trim().to_string()));
        }
        Ok(unit)
    }

    fn section(&self, name: &str) -> impl Iterator<Item = &(String, String)> {
        self.sections
            .iter()
            .filter(move |s| s.name == name)
            .flat_map(|s| s.entries.iter())
    }

    /// The last value of `key`.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.section(section)
            .filter(|(k, _)| k == key)
            .last()
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, as systemd lists them: an empty value clears those before it.
    pub fn all(&self, section: &str, key: &str) -> Vec<&str> {
        let mut values = Vec::new();
        for (k, v) in self.section(section) {
            if k == key {
                if v.is_empty() {
                    values.clear();
                } else {
                    values.push(v.as_str());
                }
            }
        }
        values
    }

    /// Every value of `key`, each split into words.
    pub fn all_words(&self, section: &str, key: &str) -> Result<Vec<String>, String> {
        let mut words = Vec::new();
        for value in self.all(section, key) {
            words.extend(split_words(value)?);
        }
        Ok(words)
    }

    /// A boolean as systemd reads one (`yes`, `true`, `on`, `1` and their opposites).
    pub fn boolean(&self, section: &str, key: &str) -> Result<Option<bool>, String> {
        match self.get(section, key) {
            None => Ok(None),
            Some(value) => match value.to_ascii_lowercase().as_str() {
                "1" | "yes" | "true" | "on" => Ok(Some(true)),
                "0" | "no" | "false" | "off" => Ok(Some(false)),
                _ => Err(format!("{key}={value}: not a boolean")),
            },
        }
    }

    /// The keys of a section, in file order, once each.
    pub fn keys(&self, section: &str) -> Vec<&str> {
        let mut keys: Vec<&str> = Vec::new();
        for (k, _) in self.section(section) {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
        keys
    }

    pub fn has(&self, section: &str, key: &str) -> bool {
        self.section(section).any(|(k, _)| k == key)
    }

    /// Appends an entry, to the section's last occurrence (made at the end if there is none).
    pub fn add(&mut self, section: &str, key: &str, value: &str) {
        let index = match self.sections.iter().rposition(|s| s.name == section) {
            Some(index) => index,
            None => {
                self.sections.push(Section {
                    name: section.to_string(),
                    entries: Vec::new(),
                });
                self.sections.len() - 1
            }
        };
        self.sections[index]
            .entries
            .push((key.to_string(), value.to_string()));
    }

    /// Sets a key's one value (earlier ones removed).
    pub fn set(&mut self, section: &str, key: &str, value: &str) {
        for s in self.sections.iter_mut().filter(|s| s.name == section) {
            s.entries.retain(|(k, _)| k != key);
        }
        self.add(section, key, value);
    }

    pub fn rename_section(&mut self, from: &str, to: &str) {
        for section in self.sections.iter_mut().filter(|s| s.name == from) {
            section.name = to.to_string();
        }
    }

    pub fn to_text(&self) -> String {
        let mut text = String::new();
        for (index, section) in self.sections.iter().enumerate() {
            if index > 0 {
                text.push('\n');
            }
            text.push_str(&format!("[{}]\n", section.name));
            for (key, value) in &section.entries {
                text.push_str(&format!("{key}={value}\n"));
            }
        }
        text
    }
}

/// Splits a value into words as systemd splits Exec lines: on whitespace, with "double" and
/// 'single' quotes and backslash escapes.
pub fn split_words(value: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Ok(words);
        };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    c if c == first => {
                        closed = true;
                        break;
                    }
                    '\\' => word.push(unescape(chars.next().unwrap_or('\\'))),
                    c => word.push(c),
                }
            }
            if !closed {
                return Err(format!("unterminated quote in {value:?}"));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                match c {
                    '\\' => word.push(unescape(chars.next().unwrap_or('\\'))),
                    c => word.push(c),
                }
            }
        }
        words.push(word);
    }
}

fn unescape(c: char) -> char {
    match c {
        'n' => '\n',
        't' => '\t',
        other => other,
    }
}

/// A word for an Exec line: as it is when systemd would read it back the same, else quoted.
pub fn quote_word(word: &str) -> String {
    let plain = !word.is_empty()
        && !word
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | ';'));
    if plain {
        return word.to_string();
    }
    let mut quoted = String::from("\"");
    for c in word.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// An Exec line of these words.
pub fn command_line(words: &[String]) -> String {
    words
        .iter()
        .map(|w| quote_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_files_read_as_systemd_reads_them() {
        let unit = UnitFile::parse(
            "# comment\n[Unit]\nDescription=web \\\n  server\n\n[Container]\nImage=busybox\nVolume=a:/a\nVolume=\nVolume=b:/b\n; other\nVolume=c:/c\n",
        )
        .unwrap();
        assert_eq!(unit.get("Unit", "Description"), Some("web    server"));
        assert_eq!(unit.all("Container", "Volume"), ["b:/b", "c:/c"]);
        assert_eq!(unit.keys("Container"), ["Image", "Volume"]);
        assert!(
            UnitFile::parse("Image=x\n")
                .unwrap_err()
                .contains("outside")
        );
        assert!(
            UnitFile::parse("[A]\nnot a pair\n")
                .unwrap_err()
                .contains("line 2")
        );
    }

    #[test]
    fn words_split_and_quote_as_systemd_does() {
        assert_eq!(
            split_words(r#"sh -c "echo \"hi there\"" 'a b' c\ d"#).unwrap(),
            ["sh", "-c", "echo \"hi there\"", "a b", "c d"]
        );
        assert!(split_words("\"open").is_err());
        let words: Vec<String> = ["sh", "-c", "echo \"hi\"; ls", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let line = command_line(&words);
        assert_eq!(line, r#"sh -c "echo \"hi\"; ls" """#);
        assert_eq!(split_words(&line).unwrap(), words);
    }
}
