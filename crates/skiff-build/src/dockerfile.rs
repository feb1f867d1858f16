//! The Containerfile/Dockerfile format: parser directives (`# syntax=`, `# escape=`), comments,
//! line continuations, heredocs (`RUN <<EOF`, `COPY <<EOF /file`), instructions with their
//! `--flags`, exec (JSON) and shell forms, and the split into stages. Variables are expanded
//! later, when the build knows its ARG and ENV values.
use thiserror::Error;

use crate::words::{WordError, split_raw};

#[derive(Debug, Error)]
#[error("{file}:{line}: {message}")]
pub struct ParseError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// The instructions a Dockerfile may use.
pub const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// Flags each instruction accepts (`--name=value`).
fn allowed_flags(keyword: &str) -> &'static [&'static str] {
    match keyword {
        "FROM" => &["platform"],
        "RUN" => &["mount", "network", "security"],
        "COPY" => &["from", "chown", "chmod", "link", "parents", "exclude"],
        "ADD" => &[
            "chown",
            "chmod",
            "link",
            "checksum",
            "keep-git-dir",
            "exclude",
        ],
        "HEALTHCHECK" => &[
            "interval",
            "timeout",
            "start-period",
            "start-interval",
            "retries",
        ],
        _ => &[],
    }
}

/// `<<EOF` ... `EOF` attached to an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    pub content: String,
    /// False when the name was quoted: the body is taken literally.
    pub expand: bool,
}

/// An instruction's arguments: `["exec", "form"]` or the rest of the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Args {
    Json(Vec<String>),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// 1-based line of the keyword.
    pub line: usize,
    /// Upper case.
    pub keyword: String,
    /// `--name=value` flags in order (`--link` alone has the value "true").
    pub flags: Vec<(String, String)>,
    pub args: Args,
    pub heredocs: Vec<Heredoc>,
    /// The instruction as written, continuations joined (for messages and history).
    pub original: String,
}

impl Instruction {
    /// The last value of a flag.
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn flag_values(&self, name: &str) -> impl Iterator<Item = &str> {
        self.flags
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The arguments as text (the JSON form re-joined with spaces).
    pub fn text(&self) -> String {
        match &self.args {
            Args::Text(text) => text.clone(),
            Args::Json(words) => words.join(" "),
        }
    }
}

/// One `FROM` and the instructions up to the next.
#[derive(Debug, Clone)]
pub struct Stage {
    pub index: usize,
    /// `AS name`, lower-cased as Docker compares them.
    pub name: Option<String>,
    /// The image as written (variables not yet expanded).
    pub base: String,
    pub platform: Option<String>,
    pub from: Instruction,
    pub instructions: Vec<Instruction>,
}

#[derive(Debug, Clone)]
pub struct Dockerfile {
    pub escape: char,
    pub syntax: Option<String>,
    /// ARGs before the first FROM: usable in FROM lines.
    pub global_args: Vec<Instruction>,
    pub stages: Vec<Stage>,
}

impl Dockerfile {
    /// Parses `text`; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, ParseError> {
        let lines: Vec<&str> = text.lines().collect();
        let error = |line: usize, message: String| ParseError {
            file: file.to_string(),
            line,
            message,
        };
        let (escape, syntax, mut index) = directives(&lines).map_err(|(l, m)| error(l, m))?;
        let mut instructions = Vec::new();
        while index < lines.len() {
            let line = lines[index];
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                index += 1;
                continue;
            }
            let first = index;
            let mut joined = String::new();
            loop {
                let current = lines[index];
                index += 1;
                let Some(before) = current.trim_end().strip_suffix(escape) else {
                    joined.push_str(current);
                    break;
                };
                joined.push_str(before);
                // Comment and empty lines inside a continuation are skipped.
                while index < lines.len() {
                    let next = lines[index].trim_start();
                    if !(next.starts_with('#') || next.is_empty()) {
                        break;
                    }
                    index += 1;
                }
                if index >= lines.len() {
                    break;
                }
            }
            let mut instruction =
                parse_instruction(&joined, first + 1, escape).map_err(|m| error(first + 1, m))?;
            if matches!(instruction.keyword.as_str(), "RUN" | "COPY" | "ADD") {
                let markers = heredoc_markers(&instruction.text());
                for (name, expand, strip_tabs) in markers {
                    let mut content = String::new();
                    let mut closed = false;
                    while index < lines.len() {
                        let mut body = lines[index];
                        index += 1;
                        if strip_tabs {
                            body = body.trim_start_matches('\t');
                        }
                        if body == name {
                            closed = true;
                            break;
                        }
                        content.push_str(body);
                        content.push('\n');
                    }
                    if !closed {
                        return Err(error(
                            first + 1,
                            format!("heredoc <<{name} is not terminated by a line {name}"),
                        ));
                    }
                    instruction.original.push('\n');
                    instruction.original.push_str(&content);
                    instruction.original.push_str(&name);
                    instruction.heredocs.push(Heredoc {
                        name,
                        content,
                        expand,
                    });
                }
            }
            instructions.push(instruction);
        }
        split_stages(instructions, escape, syntax).map_err(|(l, m)| error(l, m))
    }

    /// The stage a name (`AS name`) or index refers to.
    pub fn stage(&self, name_or_index: &str) -> Option<&Stage> {
        let lowered = name_or_index.to_ascii_lowercase();
        self.stages
            .iter()
            .find(|s| s.name.as_deref() == Some(lowered.as_str()))
            .or_else(|| {
                name_or_index
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| self.stages.get(i))
            })
    }
}

/// `# escape=`, `# syntax=` (and `# check=`) at the very top; returns the first line after them.
fn directives(lines: &[&str]) -> Result<(char, Option<String>, usize), (usize, String)> {
    let mut escape = '\\';
    let mut syntax = None;
    let mut index = 0;
    while index < lines.len() {
        let Some(comment) = lines[index].trim().strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = comment.split_once('=') else {
            break;
        };
        let key = key.trim().to_ascii_lowercase();
        let value = value.trim();
        match key.as_str() {
            "escape" => {
                escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    _ => {
                        return Err((
                            index + 1,
                            format!("invalid escape token {value:?}: must be ` or \\"),
                        ));
                    }
                };
            }
            "syntax" => syntax = Some(value.to_string()),
            "check" => {}
            _ => break,
        }
        index += 1;
    }
    Ok((escape, syntax, index))
}

fn parse_instruction(text: &str, line: usize, escape: char) -> Result<Instruction, String> {
    let trimmed = text.trim();
    let (word, rest) = trimmed
        .split_once(char::is_whitespace)
        .unwrap_or((trimmed, ""));
    let keyword = word.to_ascii_uppercase();
    if !KEYWORDS.contains(&keyword.as_str()) {
        return Err(format!("unknown instruction: {word}"));
    }
    let mut rest = rest.trim_start();
    let mut flags = Vec::new();
    let allowed = allowed_flags(&keyword);
    while let Some(flag) = rest.strip_prefix("--") {
        let end = flag.find(char::is_whitespace).unwrap_or(flag.len());
        let token = &flag[..end];
        let (name, value) = token.split_once('=').unwrap_or((token, "true"));
        if !allowed.contains(&name) {
            return Err(format!("unknown flag --{name} for {keyword}"));
        }
        // A quoted flag value (`--mount="type=cache,target=/x"`) loses its quotes.
        let value = split_raw(value, escape)
            .ok()
            .and_then(|w| w.into_iter().next())
            .map(|w| w.trim_matches('"').trim_matches('\'').to_string())
            .unwrap_or_default();
        flags.push((name.to_string(), value));
        rest = flag[end..].trim_start();
    }
    let args = match rest.starts_with('[') {
        true => match serde_json::from_str::<Vec<String>>(rest) {
            Ok(words) => Args::Json(words),
            Err(_) => Args::Text(rest.to_string()),
        },
        false => Args::Text(rest.to_string()),
    };
    let needs_args = !matches!(keyword.as_str(), "CMD" | "ENTRYPOINT" | "RUN");
    if needs_args && rest.is_empty() {
        return Err(format!("{keyword} requires at least one argument"));
    }
    Ok(Instruction {
        line,
        keyword,
        flags,
        args,
        heredocs: Vec::new(),
        original: trimmed.to_string(),
    })
}

/// The heredocs an instruction opens: (name, expand, strip leading tabs), in order.
fn heredoc_markers(text: &str) -> Vec<(String, bool, bool)> {
    let mut markers = Vec::new();
    let mut rest = text;
    while let Some(position) = rest.find("<<") {
        let after = &rest[position + 2..];
        // `<<<` is a here-string, not a heredoc.
        if after.starts_with('<') {
            rest = after.trim_start_matches('<');
            continue;
        }
        let (strip_tabs, after) = match after.strip_prefix('-') {
            Some(a) => (true, a),
            None => (false, after),
        };
        let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'');
        let body = match quote {
            Some(_) => &after[1..],
            None => after,
        };
        let len = body
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            .count();
        if len == 0 {
            rest = after;
            continue;
        }
        let name = body[..len].to_string();
        let mut consumed = len;
        if let Some(q) = quote {
            if !body[len..].starts_with(q) {
                rest = after;
                continue;
            }
            consumed += 1;
        }
        markers.push((name, quote.is_none(), strip_tabs));
        rest = &body[consumed..];
    }
    markers
}

fn split_stages(
    instructions: Vec<Instruction>,
    escape: char,
    syntax: Option<String>,
) -> Result<Dockerfile, (usize, String)> {
    let mut global_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for instruction in instructions {
        if instruction.keyword == "FROM" {
            let words = split_raw(&instruction.text(), escape)
                .map_err(|e: WordError| (instruction.line, e.to_string()))?;
            let (base, name) = match words.as_slice() {
                [base] => (base.clone(), None),
                [base, as_word, name] if as_word.eq_ignore_ascii_case("as") => {
                    let name = name.to_ascii_lowercase();
                    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                        && name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
                    if !valid {
                        return Err((
                            instruction.line,
                            format!("invalid name for build stage: {name:?}"),
                        ));
                    }
                    if stages
                        .iter()
                        .any(|s| s.name.as_deref() == Some(name.as_str()))
                    {
                        return Err((
                            instruction.line,
                            format!("duplicate name for build stage: {name:?}"),
                        ));
                    }
                    (base.clone(), Some(name))
                }
                _ => {
                    return Err((
                        instruction.line,
                        "FROM requires either one or three arguments (IMAGE [AS NAME])".into(),
                    ));
                }
            };
            stages.push(Stage {
                index: stages.len(),
                name,
                base,
                platform: instruction.flag("platform").map(str::to_string),
                from: instruction,
                instructions: Vec::new(),
            });
            continue;
        }
        match stages.last_mut() {
            Some(stage) => stage.instructions.push(instruction),
            None if instruction.keyword == "ARG" => global_args.push(instruction),
            None => {
                return Err((
                    instruction.line,
                    format!(
                        "{} before the first FROM: only ARG may come before FROM",
                        instruction.keyword
                    ),
                ));
            }
        }
    }
    if stages.is_empty() {
        return Err((1, "no FROM instruction: nothing to build".into()));
    }
    Ok(Dockerfile {
        escape,
        syntax,
        global_args,
        stages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Dockerfile {
        Dockerfile::parse(text, "Containerfile").unwrap()
    }

    fn error(text: &str) -> String {
        Dockerfile::parse(text, "Containerfile")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn stages_instructions_and_forms() {
        let file = parse(
            "# syntax=docker/dockerfile:1\nARG BASE=busybox\nFROM --platform=linux/amd64 $BASE AS Builder\n\
             # a comment\nrun echo \\\n  # skipped\n  hi\nCOPY --from=builder --chown=1:1 a b /dst/\n\
             CMD [\"sh\", \"-c\", \"x\"]\nFROM builder\nENTRYPOINT\n",
        );
        assert_eq!(file.syntax.as_deref(), Some("docker/dockerfile:1"));
        assert_eq!(file.global_args.len(), 1);
        assert_eq!(file.stages.len(), 2);
        let first = &file.stages[0];
        assert_eq!(first.name.as_deref(), Some("builder"));
        assert_eq!(first.base, "$BASE");
        assert_eq!(first.platform.as_deref(), Some("linux/amd64"));
        let run = &first.instructions[0];
        assert_eq!((run.keyword.as_str(), run.line), ("RUN", 5));
        assert_eq!(run.args, Args::Text("echo   hi".into()));
        let copy = &first.instructions[1];
        assert_eq!(copy.flag("from"), Some("builder"));
        assert_eq!(copy.flag("chown"), Some("1:1"));
        assert_eq!(copy.args, Args::Text("a b /dst/".into()));
        assert_eq!(
            first.instructions[2].args,
            Args::Json(vec!["sh".into(), "-c".into(), "x".into()])
        );
        assert_eq!(file.stage("builder").unwrap().index, 0);
        assert_eq!(file.stage("1").unwrap().index, 1);
    }

    #[test]
    fn heredocs_are_read() {
        let file = parse(
            "FROM scratch\nRUN <<EOF\necho one\necho two\nEOF\nCOPY <<-'END' /file\n\thello $X\n\tEND\nRUN cat <<A <<B\na\nA\nb\nB\n",
        );
        let instructions = &file.stages[0].instructions;
        assert_eq!(
            instructions[0].heredocs,
            vec![Heredoc {
                name: "EOF".into(),
                content: "echo one\necho two\n".into(),
                expand: true
            }]
        );
        assert_eq!(instructions[1].heredocs[0].content, "hello $X\n");
        assert!(!instructions[1].heredocs[0].expand);
        assert_eq!(instructions[2].heredocs.len(), 2);
        assert_eq!(instructions[2].original, "RUN cat <<A <<B\na\nA\nb\nB");
    }

    #[test]
    fn escape_directive_changes_the_continuation() {
        let file = parse("# escape=`\nFROM scratch\nRUN a `\n b\nCOPY c:\\x d\n");
        assert_eq!(file.escape, '`');
        assert_eq!(file.stages[0].instructions[0].text(), "a  b");
        assert_eq!(file.stages[0].instructions[1].text(), "c:\\x d");
    }

    #[test]
    fn errors_name_the_file_line_and_instruction() {
        assert_eq!(
            error("FROM a\n\nFOO bar\n"),
            "Containerfile:3: unknown instruction: FOO"
        );
        assert_eq!(
            error("RUN x\n"),
            "Containerfile:1: RUN before the first FROM: only ARG may come before FROM"
        );
        assert!(error("FROM a\nCOPY --form=x a b\n").contains(":2: unknown flag --form for COPY"));
        assert!(error("FROM a\nRUN <<EOF\nx\n").contains("not terminated"));
        assert!(error("# comment\n").contains("no FROM"));
        assert!(error("FROM a AS b\nFROM c AS b\n").contains("duplicate name"));
        assert!(error("FROM a\nWORKDIR\n").contains("WORKDIR requires at least one argument"));
    }
}

/// Any text is a Containerfile or a parse error naming a line: never a panic.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            "(FROM|RUN|COPY|ADD|ENV|ARG|LABEL|EXPOSE|ONBUILD|HEALTHCHECK|SHELL|CMD|ENTRYPOINT|WORKDIR|USER|VOLUME|STOPSIGNAL) \\PC{0,30}",
            "(FROM|COPY|RUN) --[a-z]{1,6}(=\\PC{0,8})? \\PC{0,20}",
            "(RUN|COPY) <<-?[A-Z\"']{0,4}EOF[ a-z/]{0,8}",
            "# (escape|syntax)=\\PC{0,3}",
            "\\PC{0,30}\\\\",
            "\\PC{0,40}",
        ]
    }

    proptest! {
        #[test]
        fn containerfiles_parse_or_fail(lines in prop::collection::vec(line(), 0..12)) {
            let text = lines.join("\n");
            if let Ok(file) = Dockerfile::parse(&text, "Containerfile") {
                for stage in &file.stages {
                    let _ = file.stage(&stage.base);
                    for instruction in &stage.instructions {
                        let _ = instruction.text();
                    }
                }
            }
        }

        #[test]
        fn words_and_patterns_never_panic(word in "\\PC{0,40}", escape in prop_oneof![Just('\\'), Just('`')]) {
            let _ = crate::words::split_raw(&word, escape);
            let vars = |name: &str| name.len().is_multiple_of(2).then(|| name.to_string());
            let _ = crate::words::expand(&word, &vars, escape);
            let rules = crate::patterns::IgnoreRules::parse(&word);
            let _ = rules.excludes(std::path::Path::new(&word));
            let _ = crate::patterns::segment_matches(&word, &word);
        }
    }
}
