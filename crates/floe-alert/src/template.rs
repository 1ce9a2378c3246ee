//! Subject templates: `{rule}`, `{key}`... replaced by an alert's values
//! (`{{` and `}}` for braces). Only the fields below exist, so a typo is
//! found when the rules are checked, not when an alert is sent.

/// The fields a template may use.
pub const FIELDS: &[&str] = &[
    "rule",
    "check",
    "state",
    "key",
    "metric",
    "value",
    "condition",
    "threshold",
    "window",
    "host",
    "preset",
];

/// Checks a template: braces balanced, fields known.
pub fn check(t: &str) -> Result<(), String> {
    render(t, |_| Some(String::new())).map(|_| ())
}

/// Fills a template; `value` gives each field's text.
pub fn render(t: &str, value: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(t.len());
    let mut rest = t;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(r) = tail.strip_prefix("{{") {
            out.push('{');
            rest = r;
        } else if let Some(r) = tail.strip_prefix("}}") {
            out.push('}');
            rest = r;
        } else if tail.starts_with('}') {
            return Err("a lone } (write }} for a brace)".into());
        } else {
            let end = tail
                .find('}')
                .ok_or_else(|| "a { without its } (write {{ for a brace)".to_string())?;
            let name = &tail[1..end];
            if !FIELDS.contains(&name) {
                return Err(format!(
                    "unknown field {{{name}}}; fields: {}",
                    FIELDS
                        .iter()
                        .map(|f| format!("{{{f}}}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                ));
            }
            out.push_str(&value(name).unwrap_or_default());
            rest = &tail[end + 1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_braces() {
        let v = |f: &str| Some(f.to_uppercase());
        assert_eq!(
            render("[{state}] {rule}: {key} {{x}}", v).unwrap(),
            "[STATE] RULE: KEY {x}"
        );
        assert!(check("{nope}").unwrap_err().contains("{rule}"));
        assert!(check("{rule").is_err());
        assert!(check("rule}").is_err());
        // A value holding braces is not read again.
        assert_eq!(
            render("{key}", |_| Some("{rule}".into())).unwrap(),
            "{rule}"
        );
    }
}
