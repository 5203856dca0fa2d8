//! The verb table of docs/architecture.md ("One verb table"), held over the public
//! functions of `esp-amp` and `esp-amp-host`: `try_X` tries once (never `async`),
//! `X_timeout` blocks with a deadline (never `async`), a bare waiting verb is the `async`
//! form, `poll` is not a name, and `_async` is only the send family's suffix. A function
//! added with another shape fails here with its file and line; a deliberate exception goes
//! into `EXCEPTIONS` with its reason in the docs.

use std::path::{Path, PathBuf};

/// The waiting verbs of the table.
const VERBS: [&str; 4] = ["recv", "wait", "serve", "response"];
/// The send family's async forms (docs/architecture.md: sending and allocating).
const ASYNC_SENDS: [&str; 4] = ["alloc_async", "send_async", "call_async", "call_typed_async"];
/// Names outside the table on purpose (see the docs): the host port's process wait, named
/// after `std::process::Child::wait`.
const EXCEPTIONS: [&str; 1] = ["wait_exit"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `(is_async, name)` of a `pub fn` / `pub async fn` line.
fn public_fn(line: &str) -> Option<(bool, &str)> {
    let line = line.trim_start();
    let (is_async, rest) = if let Some(r) = line.strip_prefix("pub async fn ") {
        (true, r)
    } else {
        (false, line.strip_prefix("pub fn ")?)
    };
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    Some((is_async, &rest[..end]))
}

/// Why `name` breaks the table, if it does.
fn violation(is_async: bool, name: &str) -> Option<String> {
    if EXCEPTIONS.contains(&name) {
        return None;
    }
    if name == "poll" || name.starts_with("poll_") {
        return Some("`poll` is not a name in the API (use try_X or dispatch)".into());
    }
    if name.ends_with("_async") && !ASYNC_SENDS.contains(&name) {
        return Some("`_async` is the send family's suffix only: the async form is the bare verb".into());
    }
    let base = name.strip_prefix("try_").unwrap_or(name);
    let base = base.strip_suffix("_timeout").unwrap_or(base);
    let verb = VERBS.iter().find(|v| base == **v || base.starts_with(&format!("{v}_")))?;
    let bare = name == *verb;
    match (name.starts_with("try_"), name.ends_with("_timeout"), is_async) {
        (true, _, true) => Some("a try_ form never waits, so it is not async".into()),
        (_, true, true) => Some("an _timeout form blocks, so it is not async".into()),
        (false, false, false) if bare => Some(format!("a bare `{verb}` is the async form")),
        (false, false, _) if !bare => Some(format!("a form of `{verb}` outside try_/_timeout/async")),
        _ => None,
    }
}

#[test]
#[cfg_attr(miri, ignore = "reads the sources")]
fn public_functions_follow_the_verb_table() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    for krate in ["esp-amp/src", "esp-amp-host/src"] {
        rust_files(&root.join(krate), &mut files);
    }
    let mut seen = 0;
    let mut bad = Vec::new();
    for file in &files {
        for (i, line) in std::fs::read_to_string(file).unwrap().lines().enumerate() {
            if let Some((is_async, name)) = public_fn(line) {
                seen += 1;
                if let Some(why) = violation(is_async, name) {
                    bad.push(format!("{}:{}: {name}: {why}", file.display(), i + 1));
                }
            }
        }
    }
    assert!(seen > 200, "only {seen} public functions found: is the scan looking in the right place?");
    assert!(bad.is_empty(), "names outside the verb table:\n{}", bad.join("\n"));
}

#[test]
fn the_rules_catch_what_they_forbid() {
    for (is_async, name) in [
        (false, "poll"),
        (false, "poll_all"),
        (true, "wait_async"),
        (false, "wait"),
        (true, "try_recv"),
        (true, "recv_timeout"),
        (false, "recv_where"),
    ] {
        assert!(violation(is_async, name).is_some(), "{name} (async: {is_async}) should be refused");
    }
    for (is_async, name) in [
        (false, "try_recv"),
        (false, "try_recv_where"),
        (false, "recv_timeout"),
        (true, "recv"),
        (true, "wait"),
        (false, "wait_timeout"),
        (true, "send_async"),
        (false, "dispatch"),
        (false, "wait_exit"),
        (false, "response_timeout"),
    ] {
        assert_eq!(violation(is_async, name), None, "{name} (async: {is_async}) follows the table");
    }
}
