//! Words of an instruction as Docker reads them: split on whitespace outside quotes, then
//! quotes removed, the escape character applied and `$VAR`, `${VAR}`, `${VAR:-default}`,
//! `${VAR-default}`, `${VAR:+alt}`, `${VAR+alt}`, `${VAR:?message}` expanded from the build's
//! ARG and ENV values (BuildKit's `shell.Lex`).
use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum WordError {
    #[error("unterminated quote in {0:?}")]
    UnterminatedQuote(String),
    #[error("missing '}}' in {0:?}")]
    UnterminatedBrace(String),
    #[error("bad substitution {0:?}")]
    BadSubstitution(String),
    #[error("{0}: {1}")]
    Required(String, String),
    #[error("{0}")]
    Invalid(&'static str),
}

/// Values a word can refer to.
pub trait Variables {
    fn get(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> Variables for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// Splits on whitespace outside quotes; quotes and escapes stay for `expand`.
pub fn split_raw(text: &str, escape: char) -> Result<Vec<String>, WordError> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                current.push(c);
                if c == escape && q == '"' {
                    if let Some(next) = chars.next() {
                        current.push(next);
                    }
                } else if c == q {
                    quote = None;
                }
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            None => {
                in_word = true;
                current.push(c);
                if c == escape {
                    if let Some(next) = chars.next() {
                        current.push(next);
                    }
                } else if c == '"' || c == '\'' {
                    quote = Some(c);
                }
            }
        }
    }
    if quote.is_some() {
        return Err(WordError::UnterminatedQuote(text.to_string()));
    }
    if in_word {
        words.push(current);
    }
    Ok(words)
}

/// One word with quotes removed, escapes applied and variables expanded.
pub fn expand(word: &str, vars: &dyn Variables, escape: char) -> Result<String, WordError> {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut double = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' && !double {
            let end = chars[i + 1..]
                .iter()
                .position(|&q| q == '\'')
                .ok_or_else(|| WordError::UnterminatedQuote(word.to_string()))?;
            out.extend(&chars[i + 1..i + 1 + end]);
            i += end + 2;
        } else if c == '"' {
            double = !double;
            i += 1;
        } else if c == escape && i + 1 < chars.len() {
            let next = chars[i + 1];
            if double && next != '"' && next != '$' && next != escape {
                out.push(c);
            }
            out.push(next);
            i += 2;
        } else if c == '$' {
            i = expand_variable(&chars, i, vars, escape, &mut out, word)?;
        } else {
            out.push(c);
            i += 1;
        }
    }
    if double {
        return Err(WordError::UnterminatedQuote(word.to_string()));
    }
    Ok(out)
}

/// Expands every word of `text` (for instructions that take a list: COPY, EXPOSE, VOLUME...).
pub fn expand_all(
    text: &str,
    vars: &dyn Variables,
    escape: char,
) -> Result<Vec<String>, WordError> {
    split_raw(text, escape)?
        .iter()
        .map(|w| expand(w, vars, escape))
        .collect()
}

/// Expands the `$...` at `chars[start]`; returns the index after it.
fn expand_variable(
    chars: &[char],
    start: usize,
    vars: &dyn Variables,
    escape: char,
    out: &mut String,
    word: &str,
) -> Result<usize, WordError> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut i = start + 1;
    if i < chars.len() && chars[i] == '{' {
        // Find the matching brace, allowing nested ${...} in the default word.
        let mut depth = 1;
        let mut end = i + 1;
        while end < chars.len() {
            match chars[end] {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            end += 1;
        }
        if end >= chars.len() {
            return Err(WordError::UnterminatedBrace(word.to_string()));
        }
        let inner: String = chars[i + 1..end].iter().collect();
        let name_len = inner.chars().take_while(|&c| is_name(c)).count();
        let name = &inner[..name_len];
        if name.is_empty() {
            return Err(WordError::BadSubstitution(word.to_string()));
        }
        let operation = &inner[name_len..];
        let value = vars.get(name);
        let (colon, rest) = match operation.strip_prefix(':') {
            Some(rest) => (true, rest),
            None => (false, operation),
        };
        // With a colon, an empty value counts as unset.
        let set = match &value {
            Some(v) => !(colon && v.is_empty()),
            None => false,
        };
        let word_of = |text: &str| expand(text, vars, escape);
        match rest.chars().next() {
            None if !colon => out.push_str(&value.unwrap_or_default()),
            Some('-') => {
                if set {
                    out.push_str(&value.unwrap_or_default());
                } else {
                    out.push_str(&word_of(&rest[1..])?);
                }
            }
            Some('+') => {
                if set {
                    out.push_str(&word_of(&rest[1..])?);
                }
            }
            Some('?') => {
                if set {
                    out.push_str(&value.unwrap_or_default());
                } else {
                    let message = word_of(&rest[1..])?;
                    let message = if message.is_empty() {
                        "is not allowed to be unset".to_string()
                    } else {
                        message
                    };
                    return Err(WordError::Required(name.to_string(), message));
                }
            }
            _ => return Err(WordError::BadSubstitution(word.to_string())),
        }
        i = end + 1;
    } else {
        let len = chars[i..].iter().take_while(|&&c| is_name(c)).count();
        if len == 0 {
            out.push('$');
            return Ok(i);
        }
        let name: String = chars[i..i + len].iter().collect();
        out.push_str(&vars.get(&name).unwrap_or_default());
        i += len;
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "A" => Some("one".into()),
            "EMPTY" => Some(String::new()),
            "SPACE" => Some("a b".into()),
            _ => None,
        }
    }

    fn x(word: &str) -> String {
        expand(word, &vars, '\\').unwrap()
    }

    #[test]
    fn variables_expand_in_every_form() {
        assert_eq!(x("$A"), "one");
        assert_eq!(x("${A}x"), "onex");
        assert_eq!(x("$Ax"), "");
        assert_eq!(x("${B:-two}"), "two");
        assert_eq!(x("${EMPTY:-two}"), "two");
        assert_eq!(x("${EMPTY-two}"), "");
        assert_eq!(x("${A:+set}"), "set");
        assert_eq!(x("${B:+set}"), "");
        assert_eq!(x("${B:-${A}}"), "one");
        assert_eq!(x("a$"), "a$");
        assert_eq!(
            expand("${B:?needed}", &vars, '\\'),
            Err(WordError::Required("B".into(), "needed".into()))
        );
        assert!(expand("${A", &vars, '\\').is_err());
    }

    #[test]
    fn quotes_and_escapes_like_docker() {
        assert_eq!(x("'$A'"), "$A");
        assert_eq!(x("\"$A b\""), "one b");
        assert_eq!(x("\\$A"), "$A");
        assert_eq!(x("\"a\\\"b\""), "a\"b");
        assert_eq!(x("\"a\\nb\""), "a\\nb");
        assert_eq!(expand("`$A", &vars, '`').unwrap(), "$A");
    }

    #[test]
    fn words_split_outside_quotes() {
        assert_eq!(
            split_raw("a \"b c\" 'd e'  f\\ g", '\\').unwrap(),
            ["a", "\"b c\"", "'d e'", "f\\ g"]
        );
        assert_eq!(
            expand_all("x=\"$SPACE\" y", &vars, '\\').unwrap(),
            ["x=a b", "y"]
        );
        assert!(split_raw("\"open", '\\').is_err());
    }
}
