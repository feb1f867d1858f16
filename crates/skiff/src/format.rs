//! Output formats as Podman prints them: aligned tables, `--format json`, and Go templates
//! (`{{.ID}}`, `table {{.ID}}\t{{.Names}}`, `{{json .}}`), all from serde_json values.
use std::collections::HashMap;

use anyhow::{Context, Result, bail};
use gtmpl_value::{FuncError, Number, Value as TemplateValue};
use serde::Serialize;
use serde_json::Value;

/// Pretty JSON with Podman's four-space indent.
pub fn json<T: Serialize>(value: &T) -> Result<String> {
    json_indented(value, b"    ")
}

/// Pretty JSON with this indent (Podman's `mount --format json` indents by one space).
pub fn json_indented<T: Serialize>(value: &T, indent: &[u8]) -> Result<String> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut serializer)?;
    Ok(String::from_utf8(out)?)
}

/// Whether `--format` asks for JSON rather than a template.
pub fn is_json(format: &str) -> bool {
    matches!(format.trim(), "json" | "{{json .}}")
}

/// Renders `template` once per value; `table ` in front adds a header row and aligns columns.
pub fn render(template: &str, values: &[Value]) -> Result<String> {
    let (table, body) = match template.strip_prefix("table") {
        // As Podman's `table ` formats: every space separates columns.
        Some(rest) if rest.starts_with(' ') => (true, rest.trim_start().replace(' ', "\t")),
        Some(rest) => (true, rest.trim_start().to_string()),
        None => (false, template.to_string()),
    };
    let body = body.replace("\\t", "\t").replace("\\n", "\n");
    let mut rows = Vec::new();
    if table {
        rows.push(header_of(&body));
    }
    rows.extend(render_lines(&body, values)?);
    // Only a `table` format is aligned; elsewhere a tab stays a tab, as in Podman.
    let text = if table { align(&rows) } else { rows.join("\n") };
    Ok(if text.is_empty() {
        text
    } else {
        format!("{text}\n")
    })
}

/// One rendered line per value, unaligned.
fn render_lines(body: &str, values: &[Value]) -> Result<Vec<String>> {
    let mut engine = gtmpl::Template::default();
    engine.add_func("json", template_json);
    engine.add_func("upper", template_upper);
    engine.add_func("lower", template_lower);
    engine.add_func("join", template_join);
    engine.add_func("truncate", template_truncate);
    check_limits(body)?;
    engine
        .parse(body)
        .map_err(|e| anyhow::anyhow!("template parsing error: {e}"))?;
    values
        .iter()
        .map(|value| {
            let context = gtmpl::Context::from(to_template_value(value));
            engine
                .render(&context)
                .map_err(|e| anyhow::anyhow!("template: {e}"))
                .context("--format")
        })
        .collect()
}

/// A value whose object keys are Podman's JSON keys, with Go's field names instead (what its
/// templates name): `ociRuntime` → `OCIRuntime`, `graphRoot` → `GraphRoot`. Map values keyed by
/// data (labels, graph status) keep their keys.
pub fn go_field_names(value: &Value) -> Value {
    const DATA_MAPS: [&str; 4] = ["graphOptions", "graphStatus", "registries", "plugins"];
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, inner)| {
                    let inner = if DATA_MAPS.contains(&key.as_str()) {
                        inner.clone()
                    } else {
                        go_field_names(inner)
                    };
                    (go_field_name(key), inner)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(go_field_names).collect()),
        other => other.clone(),
    }
}

fn go_field_name(key: &str) -> String {
    let special = [
        ("ociRuntime", "OCIRuntime"),
        ("cgroupVersion", "CgroupsVersion"),
        ("os", "OS"),
        ("idMappings", "IDMappings"),
        ("uidmap", "UIDMap"),
        ("gidmap", "GIDMap"),
        ("container_id", "ContainerID"),
        ("host_id", "HostID"),
        ("cpus", "CPUs"),
        ("slirp4netns", "Slirp4NetNS"),
        ("selinuxEnabled", "SELinuxEnabled"),
        ("apparmorEnabled", "AppArmorEnabled"),
        ("seccompEnabled", "SECCOMPEnabled"),
        ("seccompProfilePath", "SECCOMPProfilePath"),
    ];
    if let Some((_, go)) = special.iter().find(|(json, _)| *json == key) {
        return go.to_string();
    }
    let mut chars = key.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Nesting (parentheses, range/if/with blocks) and printf widths that the template engine
/// cannot take (it recurses without bound, and formats widths above 65535 by panicking).
const TEMPLATE_MAX_DEPTH: usize = 100;
const TEMPLATE_MAX_WIDTH: u64 = 10_000;

fn check_limits(body: &str) -> Result<()> {
    if let Some(c) = unsafe_character(body) {
        anyhow::bail!("template parsing error: unexpected {c:?} in an action");
    }
    let (mut parentheses, mut blocks) = (0usize, 0usize);
    let mut deepest = 0;
    for action in body.split("{{").skip(1) {
        let action = action.split("}}").next().unwrap_or("");
        // The template engine's lexer slices actions by bytes and panics inside a character
        // of more than one byte: such characters are refused in actions (text around them and
        // quoted strings take any).

        let words = action.trim_matches(|c: char| c == '-' || c.is_whitespace());
        let keyword = words.split(|c: char| c.is_whitespace() || c == '(').next();
        match keyword {
            Some("range" | "if" | "with" | "block" | "define") => blocks += 1,
            Some("end") => blocks = blocks.saturating_sub(1),
            _ => {}
        }
        for c in action.chars() {
            match c {
                '(' => parentheses += 1,
                ')' => parentheses = parentheses.saturating_sub(1),
                _ => {}
            }
            deepest = deepest.max(parentheses + blocks);
        }
        deepest = deepest.max(parentheses + blocks);
    }
    if deepest > TEMPLATE_MAX_DEPTH {
        anyhow::bail!("template parsing error: nested deeper than {TEMPLATE_MAX_DEPTH} levels");
    }
    let bytes = body.as_bytes();
    for (at, _) in body.match_indices('%') {
        let rest = &bytes[at + 1..];
        let flags = rest.iter().take_while(|b| b"-+# 0".contains(b)).count();
        for number in rest[flags..].split(|b| *b == b'.').take(2) {
            let digits: Vec<u8> = number
                .iter()
                .copied()
                .take_while(u8::is_ascii_digit)
                .collect();
            let value = std::str::from_utf8(&digits)
                .ok()
                .and_then(|d| d.parse::<u64>().ok());
            if digits.len() > 5 || value.is_some_and(|v| v > TEMPLATE_MAX_WIDTH) {
                anyhow::bail!("template: printf width or precision above {TEMPLATE_MAX_WIDTH}");
            }
            if digits.len() != number.len() {
                break;
            }
        }
    }
    Ok(())
}

/// A character the template engine's lexer cannot take in an action: it slices by bytes and
/// panics inside a character of more than one byte outside a string, or after a backslash in
/// one. Strings ("..." and `...`, which may hold "}}") take any other character; so does the
/// text around actions.
fn unsafe_character(body: &str) -> Option<char> {
    let chars: Vec<char> = body.chars().collect();
    let (mut in_action, mut quote, mut after_backslash) = (false, None, false);
    let mut index = 0;
    while let Some(&c) = chars.get(index) {
        let pair = |second: char| chars.get(index + 1) == Some(&second);
        if !in_action {
            if c == '{' && pair('{') {
                in_action = true;
                index += 1;
            }
        } else {
            match quote {
                // A backslash escapes in "..." only; in `...` it does not end the string,
                // but the engine still unquotes what follows it.
                Some(q) => {
                    let escaped = std::mem::take(&mut after_backslash);
                    if escaped && !c.is_ascii() {
                        return Some(c);
                    }
                    // `...\`: the engine unquotes a lone backslash at the end and panics.
                    if escaped && q == '`' && c == q {
                        return Some('\\');
                    }
                    if !(escaped && q == '"') {
                        if c == q {
                            quote = None;
                        } else {
                            after_backslash = c == '\\';
                        }
                    }
                }
                None if c == '"' || c == '`' => quote = Some(c),
                None if c == '}' && pair('}') => {
                    in_action = false;
                    index += 1;
                }
                None if !c.is_ascii() => return Some(c),
                None => {}
            }
        }
        index += 1;
    }
    None
}

/// A table with the given header line (tab-separated) over rows rendered from `body`.
pub fn table_with_header(header: &str, body: &str, values: &[Value]) -> Result<String> {
    let mut rows = vec![header.to_string()];
    rows.extend(render_lines(body, values)?);
    Ok(format!("{}\n", align(&rows)))
}

/// `{{.ID}}\t{{.Names}}` → `ID\tNAMES`, using Podman's column names where they differ.
fn header_of(body: &str) -> String {
    columns(body)
        .into_iter()
        .map(|cell| {
            let field = cell
                .split("{{")
                .nth(1)
                .and_then(|c| c.split("}}").next())
                .unwrap_or("")
                .trim();
            // The field an action shows: `.Names` in `join .Names ","`.
            let words: Vec<&str> = field.split_whitespace().collect();
            let name = words
                .iter()
                .rev()
                .find(|w| w.starts_with('.'))
                .or(words.last())
                .copied()
                .unwrap_or("")
                .trim_start_matches('.');
            match name {
                "ID" => "CONTAINER ID".to_string(),
                "CreatedHuman" | "CreatedSince" | "RunningFor" => "CREATED".to_string(),
                other => other.to_ascii_uppercase(),
            }
        })
        .collect::<Vec<_>>()
        .join("\t")
}

/// The tab-separated columns of a template body; a tab inside `{{ }}` separates nothing.
fn columns(body: &str) -> Vec<&str> {
    let mut cells = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"{{") {
            depth += 1;
            i += 2;
        } else if bytes[i..].starts_with(b"}}") {
            depth = depth.saturating_sub(1);
            i += 2;
        } else {
            if bytes[i] == b'\t' && depth == 0 {
                cells.push(&body[start..i]);
                start = i + 1;
            }
            i += 1;
        }
    }
    cells.push(&body[start..]);
    cells
}

/// The narrowest column of a table, its padding included.
const MIN_COLUMN: usize = 12;

/// Aligns tab-separated rows into columns two spaces apart, each at least 12 wide (Go's
/// tabwriter as Podman's `report.NewWriterDefault` sets it: minwidth 12, padding 2).
pub fn align(rows: &[String]) -> String {
    let cells: Vec<Vec<&str>> = rows.iter().map(|r| r.split('\t').collect()).collect();
    let columns = cells.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            cells
                .iter()
                .filter(|r| r.len() > c + 1)
                .map(|r| r[c].chars().count() + 2)
                .max()
                .unwrap_or(0)
                .max(MIN_COLUMN)
        })
        .collect();
    cells
        .iter()
        .map(|row| {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if i + 1 < row.len() {
                    let pad = widths[i].saturating_sub(cell.chars().count());
                    line.push_str(&" ".repeat(pad));
                }
            }
            line.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn to_template_value(value: &Value) -> TemplateValue {
    match value {
        Value::Null => TemplateValue::Nil,
        Value::Bool(b) => TemplateValue::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => TemplateValue::Number(Number::from(i)),
            (_, Some(u), _) => TemplateValue::Number(Number::from(u)),
            (_, _, Some(f)) => TemplateValue::Number(Number::from(f)),
            _ => TemplateValue::Nil,
        },
        Value::String(s) => TemplateValue::String(s.clone()),
        Value::Array(items) => TemplateValue::Array(items.iter().map(to_template_value).collect()),
        Value::Object(map) => TemplateValue::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), to_template_value(v)))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

fn from_template_value(value: &TemplateValue) -> Value {
    match value {
        TemplateValue::NoValue | TemplateValue::Nil | TemplateValue::Function(_) => Value::Null,
        TemplateValue::Bool(b) => Value::Bool(*b),
        TemplateValue::String(s) => Value::String(s.clone()),
        TemplateValue::Number(n) => n
            .as_i64()
            .map(Value::from)
            .or_else(|| n.as_u64().map(Value::from))
            .or_else(|| n.as_f64().map(Value::from))
            .unwrap_or(Value::Null),
        TemplateValue::Array(items) => {
            Value::Array(items.iter().map(from_template_value).collect())
        }
        TemplateValue::Object(map) | TemplateValue::Map(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), from_template_value(v)))
                .collect(),
        ),
    }
}

fn first(args: &[TemplateValue]) -> Result<&TemplateValue, FuncError> {
    args.first()
        .ok_or(FuncError::AtLeastXArgs("function".into(), 1))
}

fn as_text(value: &TemplateValue) -> String {
    match value {
        TemplateValue::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn template_json(args: &[TemplateValue]) -> Result<TemplateValue, FuncError> {
    let value = from_template_value(first(args)?);
    Ok(TemplateValue::String(
        serde_json::to_string(&value).unwrap_or_default(),
    ))
}

fn template_upper(args: &[TemplateValue]) -> Result<TemplateValue, FuncError> {
    Ok(TemplateValue::String(as_text(first(args)?).to_uppercase()))
}

fn template_lower(args: &[TemplateValue]) -> Result<TemplateValue, FuncError> {
    Ok(TemplateValue::String(as_text(first(args)?).to_lowercase()))
}

fn template_join(args: &[TemplateValue]) -> Result<TemplateValue, FuncError> {
    let separator = args.get(1).map(as_text).unwrap_or_default();
    match first(args)? {
        TemplateValue::Array(items) => Ok(TemplateValue::String(
            items
                .iter()
                .map(as_text)
                .collect::<Vec<_>>()
                .join(&separator),
        )),
        other => Ok(TemplateValue::String(as_text(other))),
    }
}

fn template_truncate(args: &[TemplateValue]) -> Result<TemplateValue, FuncError> {
    let text = as_text(first(args)?);
    let length = match args.get(1) {
        Some(TemplateValue::Number(n)) => n.as_u64().unwrap_or(0) as usize,
        _ => return Err(FuncError::ExactlyXArgs("truncate".into(), 2)),
    };
    Ok(TemplateValue::String(text.chars().take(length).collect()))
}

/// Podman's YAML-ish output for `info`: nested keys indented by two spaces.
pub fn yaml(value: &Value) -> String {
    fn write(value: &Value, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        match value {
            Value::Object(map) => {
                let mut keys: Vec<_> = map.keys().collect();
                keys.sort();
                for key in keys {
                    match &map[key] {
                        nested @ Value::Object(m) if !m.is_empty() => {
                            out.push_str(&format!("{pad}{key}:\n"));
                            write(nested, indent + 2, out);
                        }
                        Value::Array(items) if !items.is_empty() => {
                            out.push_str(&format!("{pad}{key}:\n"));
                            for item in items {
                                out.push_str(&format!("{pad}- {}\n", scalar(item)));
                            }
                        }
                        other => out.push_str(&format!("{pad}{key}: {}\n", scalar(other))),
                    }
                }
            }
            other => out.push_str(&format!("{pad}{}\n", scalar(other))),
        }
    }
    fn scalar(value: &Value) -> String {
        match value {
            Value::String(s) => s.clone(),
            Value::Object(m) if m.is_empty() => "{}".into(),
            Value::Array(a) if a.is_empty() => "[]".into(),
            other => other.to_string(),
        }
    }
    let mut out = String::new();
    write(value, 0, &mut out);
    out
}

/// Renders values for `--format`: JSON for `json`, else a template. None means default output.
pub fn formatted(format: Option<&str>, values: &[Value]) -> Result<Option<String>> {
    match format {
        None => Ok(None),
        Some(f) if f.trim().is_empty() => bail!("--format: empty format"),
        Some(f) if is_json(f) => Ok(Some(format!("{}\n", json(&values)?))),
        Some(f) => render(f, values).map(Some),
    }
}

/// Prints values as `--format` asks, else as a table of these columns (header and row
/// template tab-separated).
pub fn print_formatted(
    format: Option<&str>,
    header: &str,
    row: &str,
    values: &[Value],
) -> Result<()> {
    match formatted(format, values)? {
        Some(text) => print!("{text}"),
        None => print!("{}", table_with_header(header, row, values)?),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spaces_of_a_table_format_separate_columns_as_in_podman() {
        let rows = vec![json!({"Repository": "a.b/c", "Tag": "d", "Names": ["x", "y"]})];
        assert_eq!(
            render("table {{.Repository}} {{.Tag}}", &rows).unwrap(),
            "REPOSITORY  TAG\na.b/c       d\n"
        );
        assert_eq!(
            render("table {{ .Tag }} {{join .Names \",\"}}", &rows).unwrap(),
            "TAG         NAMES\nd           x,y\n"
        );
    }

    #[test]
    fn tabs_stay_tabs_unless_the_format_is_a_table() {
        let rows = [serde_json::json!({"ID": "a", "Names": "bb"})];
        assert_eq!(render("{{.ID}}\\t{{.Names}}", &rows).unwrap(), "a\tbb\n");
        let table = render("table {{.ID}}\t{{.Names}}", &rows).unwrap();
        assert_eq!(table, "CONTAINER ID  NAMES\na             bb\n");
    }

    #[test]
    fn podman_json_keys_become_go_field_names() {
        let info = serde_json::json!({
            "host": {"ociRuntime": {"name": "skiff"}, "cgroupVersion": "v1", "os": "linux"},
            "store": {"graphRoot": "/r", "graphStatus": {"Supports d_type": "true"}},
        });
        let go = go_field_names(&info);
        assert_eq!(go["Host"]["OCIRuntime"]["Name"], "skiff");
        assert_eq!(go["Host"]["CgroupsVersion"], "v1");
        assert_eq!(go["Host"]["OS"], "linux");
        assert_eq!(go["Store"]["GraphRoot"], "/r");
        assert_eq!(go["Store"]["GraphStatus"]["Supports d_type"], "true");
    }

    #[test]
    fn templates_ending_inside_an_action_or_with_wide_characters_end() {
        let values = [json!({"ID": "abc"})];
        for template in [
            "{{.",
            "{{ \"}}",
            "{{$",
            "{{.ID é}}",
            "{{é}}",
            "{{ .IDé",
            "x{{",
        ] {
            assert!(render(template, &values).is_err(), "{template}");
        }
        assert_eq!(render("é{{.ID}}é", &values).unwrap(), "éabcé\n");
    }

    #[test]
    fn templates_beyond_the_engines_limits_are_errors() {
        let values = [serde_json::json!({"ID": "x"})];
        for template in [
            r#"{{ printf "%70000d" 1 }}"#.to_string(),
            "{{print ö}}".to_string(),
            "{{eq `\\Σ}}`".to_string(),
            "{{\"}}\\𞹡{{\"}}".to_string(),
            "{{eq `}}{{printf \\`A}}".to_string(),
            r#"{{ printf "%.99999999999f" 1.0 }}"#.to_string(),
            format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000)),
            format!("{}x{}", "{{range .}}".repeat(3000), "{{end}}".repeat(3000)),
        ] {
            let error = render(&template, &values).unwrap_err().to_string();
            assert!(error.starts_with("template"), "{error}");
        }
        assert_eq!(
            render(r#"{{printf "%.1s|%s" .ID .ID}}"#, &values).unwrap(),
            "x|x\n"
        );
    }

    #[test]
    fn templates_render_fields_and_tables() {
        let rows = vec![
            json!({"ID": "abc", "Names": "web", "State": {"Pid": 42}}),
            json!({"ID": "defghi", "Names": "db", "State": {"Pid": 7}}),
        ];
        assert_eq!(
            render("{{.ID}} {{.Names}}", &rows).unwrap(),
            "abc web\ndefghi db\n"
        );
        assert_eq!(render("{{.State.Pid}}", &rows[..1]).unwrap(), "42\n");
        assert_eq!(
            render("table {{.ID}}\t{{.Names}}", &rows).unwrap(),
            "CONTAINER ID  NAMES\nabc           web\ndefghi        db\n"
        );
        assert_eq!(
            render("{{json .State}}", &rows[..1]).unwrap(),
            "{\"Pid\":42}\n"
        );
        assert_eq!(render("{{upper .Names}}", &rows[..1]).unwrap(), "WEB\n");
        // Lists and maps print as Go's %v does.
        let lists = vec![json!({"Tags": ["a", "b"], "Labels": {"z": "1", "k": "v"}})];
        assert_eq!(
            render("{{.Tags}} {{.Labels}}", &lists).unwrap(),
            "[a b] map[k:v z:1]\n"
        );
        assert!(render("{{.ID", &rows).is_err());
    }
}

/// Any `--format` a user types renders or is an error: never a panic.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\{\\{ ?(\\.|\\.ID|\\.Names|\\.Labels|\\.Ports|\\$|\\$x) ?\\}\\}",
            "\\{\\{ ?(range|if|with) (\\.|\\.Labels|\\.Names) ?\\}\\}",
            Just("{{end}}".to_string()),
            Just("{{else}}".to_string()),
            "\\{\\{ ?(printf|json|upper|lower|join|truncate|len|index|slice|eq|ne|lt|and|or|not|print|println) \\PC{0,12}\\}\\}",
            "\\{\\{ ?printf \"%[-+# 0]{0,2}[0-9]{0,6}(\\.[0-9]{0,6})?[a-zA-Z%]\" (1|\\.ID|\"x\"|1\\.5) ?\\}\\}",
            "\\{\\{[-(). |$a-zA-Z0-9\"]{0,20}\\}\\}",
            Just("table ".to_string()),
            "\\PC{0,10}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn templates_render_or_fail(pieces in prop::collection::vec(piece(), 0..6)) {
            let template = pieces.concat();
            let values = [serde_json::json!({
                "ID": "abc", "Names": ["a", "b"], "Labels": {"k": "v"}, "Ports": [], "Size": 12
            })];
            let _ = render(&template, &values);
        }
    }
}
