//! `--profile FILE|NAME`: how a kind of job is sandboxed, in a TOML file
//! whose keys are the long names of `sandbox run`'s options, without the
//! dashes (README, "Profiles"; docs/DECISIONS.md, "Profiles").
//!
//! The reader is driven by the one option table (`RUN_OPTIONS`), so an
//! option added to `run_options!` is a profile key at once, with nothing
//! to list here: a flag takes `true` or `false`, an option with a value a
//! string or a number, a repeatable one an array of them (or one). What a
//! value means is checked by the same `apply` as on the command line: a
//! profile becomes a list of options (`Given`), each with the file and
//! line it came from for messages.
//!
//! Order (`resolve`): the profiles in the order given, each after the ones
//! it includes, each key in the order of the file; a later non-repeatable
//! option replaces an earlier one (and the options it excludes: `rw` and
//! `read-only`, `net` and `share-net`), `false` unsets a flag, a
//! repeatable one adds to the list (binds and tmpfs mounts in order: a
//! later one covers an earlier one). The command line's options come
//! last and replace the profiles' in the same way.
//!
//! Expansion, in string values only: a leading `~` (alone or before a
//! `/`) and `${HOME}` are the caller's `HOME`, `${PWD}` is the current
//! directory (getcwd, not the variable); any other `${...}` is an error,
//! and a `$` before anything but `{` is itself.
//!
//! Files are read through the one reader of untrusted files
//! (confine/untrusted.rs): a regular file of at most `MAX_PROFILE_FILE`
//! bytes, never a FIFO or a device. `include = ["other.toml"]` is
//! relative to the including file, at most `MAX_INCLUDE_DEPTH` deep, and a
//! cycle is an error naming it.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use super::{Given, RunOpt, RunOption, RUN_OPTIONS};
use crate::error::{Error, Result};

/// The largest profile file read: a profile is a few dozen lines.
pub const MAX_PROFILE_FILE: u64 = 256 << 10;

/// How deep `include` may nest: a profile given may include one that
/// includes another ..., this many includes down.
pub const MAX_INCLUDE_DEPTH: usize = 8;

/// The profiles shipped in profiles/, built into the binary too, so that
/// `--profile build` works from a binary that was never installed
/// (`cargo install`); a file of the same name in the user's or the
/// installed directory comes first.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "untrusted-script",
        include_str!("../../profiles/untrusted-script.toml"),
    ),
    ("build", include_str!("../../profiles/build.toml")),
    ("agent", include_str!("../../profiles/agent.toml")),
];

/// Where a profile's text came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File(PathBuf),
    /// One of `BUILTIN`, by name.
    Builtin(&'static str),
}

impl Origin {
    /// How messages name it.
    pub fn show(&self) -> String {
        match self {
            Origin::File(p) => p.display().to_string(),
            Origin::Builtin(n) => format!("(built-in) {n}.toml"),
        }
    }
}

/// A profile's text and where it came from.
pub struct Text {
    pub origin: Origin,
    pub text: String,
    /// What tells it apart from every other profile, for cycles: the
    /// resolved path, or the built-in's name.
    pub id: String,
}

/// Where profiles and the values expanded in them come from: the files
/// (`Files`), or memory in the unit tests.
pub trait Source {
    /// The profile a `--profile` value names: a file when it holds a `/`
    /// or ends in `.toml`, else a named one.
    fn open(&self, spec: &OsStr) -> Result<Text> {
        if is_name(spec) {
            self.named(spec.to_str().unwrap_or_default())
        } else {
            self.file(Path::new(spec))
        }
    }
    /// A named profile: NAME.toml in the user's directory, then the
    /// installed one, then the built-in ones.
    fn named(&self, name: &str) -> Result<Text>;
    /// The profile file at `path`.
    fn file(&self, path: &Path) -> Result<Text>;
    /// The caller's home directory, for `~` and `${HOME}`.
    fn home(&self) -> Option<OsString>;
    /// The current directory, for `${PWD}`.
    fn cwd(&self) -> Option<OsString>;
}

/// A `--profile` value that names a profile rather than a file: letters,
/// digits, `-`, `_` and `.`, not ending in `.toml`.
pub fn is_name(spec: &OsStr) -> bool {
    let b = spec.as_bytes();
    !b.is_empty()
        && b[0] != b'.'
        && !b.ends_with(b".toml")
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn err(at: &str, msg: impl Into<String>) -> Error {
    Error::msg("profile", msg).with_path(at)
}

/// The options that the `--profile` options in `given` stand for, in
/// their place, followed by the command line's (`given` without its
/// `--profile`s); see the module's doc for the order.
pub(super) fn resolve(given: Vec<Given>, src: &dyn Source) -> Result<Vec<Given>> {
    if !given.iter().any(|g| g.opt.id == RunOpt::Profile) {
        return Ok(given);
    }
    let mut out: Vec<Given> = Vec::new();
    let mut cli = Vec::new();
    for g in given {
        if g.opt.id == RunOpt::Profile {
            let text = src.open(g.os())?;
            load(text, src, &mut Vec::new(), &mut out)?;
        } else {
            cli.push(g);
        }
    }
    // The command line's own clashes (--rw with --read-only) stay errors:
    // its options replace the profiles', not each other.
    out.retain(|p| {
        !cli.iter().any(|c| {
            !c.opt.repeatable && (c.opt.id == p.opt.id || excludes(c.opt.id).contains(&p.opt.id))
        })
    });
    out.extend(cli);
    Ok(out)
}

/// The options one profile sets (its includes resolved), as a command
/// line: what `sandbox profile show` prints.
pub fn show(spec: &OsStr, src: &dyn Source) -> Result<String> {
    let mut out = Vec::new();
    load(src.open(spec)?, src, &mut Vec::new(), &mut out)?;
    let mut line: Vec<String> = Vec::new();
    for g in &out {
        line.push(g.opt.long.to_string());
        if let Some(v) = &g.value {
            line.push(shell_quote(v));
        }
    }
    Ok(line.join(" "))
}

/// `s` as one word for a POSIX shell: bare when it holds only characters
/// no shell treats specially, else between single quotes.
pub fn shell_quote(s: &OsStr) -> String {
    let t = s.to_string_lossy();
    let plain = !t.is_empty()
        && t.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'_' | b'.' | b'/' | b':' | b'=' | b'@' | b'%' | b'+' | b','
                )
        });
    if plain {
        t.into_owned()
    } else {
        format!("'{}'", t.replace('\'', "'\\''"))
    }
}

/// The options that `id`, given later, takes the place of besides itself.
/// Deliberately not exhaustive: most options exclude no other.
fn excludes(id: RunOpt) -> &'static [RunOpt] {
    match id {
        RunOpt::Rw => &[RunOpt::ReadOnly],
        RunOpt::ReadOnly => &[RunOpt::Rw],
        RunOpt::Net => &[RunOpt::ShareNet],
        RunOpt::ShareNet => &[RunOpt::Net],
        _ => &[],
    }
}

/// Add `g` after `out`: a repeatable option to the list, another in
/// place of the same option and the ones it excludes; `set` false (a
/// flag set to false) only removes them.
fn put(out: &mut Vec<Given>, g: Given, set: bool) {
    if !g.opt.repeatable {
        let id = g.opt.id;
        out.retain(|h| h.opt.id != id && !excludes(id).contains(&h.opt.id));
    }
    if set {
        out.push(g);
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The option a profile key names: a long name without its dashes, but
/// not help, version or profile (a profile includes another with
/// `include`).
fn option_for(key: &str) -> Option<&'static RunOption> {
    RUN_OPTIONS.iter().find(|o| {
        o.long.strip_prefix("--") == Some(key)
            && !matches!(o.id, RunOpt::Help | RunOpt::Version | RunOpt::Profile)
    })
}

/// What a TOML value is called in messages.
fn kind(v: &DeValue) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a number",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// Read one profile into `out`: its includes first, then its keys.
fn load(text: Text, src: &dyn Source, stack: &mut Vec<String>, out: &mut Vec<Given>) -> Result<()> {
    let file = text.origin.show();
    let doc = DeTable::parse(&text.text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(&text.text, s.start));
        err(
            &format!("{file}:{line}"),
            format!("not TOML: {}", e.message()),
        )
    })?;
    let mut entries: Vec<_> = doc.get_ref().iter().collect();
    // The table is sorted by key; the file's order is the keys' spans'.
    entries.sort_by_key(|(k, _)| k.span().start);
    let at = |offset: usize| format!("{file}:{}", line_of(&text.text, offset));
    let expand = |v: &str, key: &str, offset: usize| -> Result<OsString> {
        expand(v, src).map_err(|m| err(&at(offset), format!("{key}: {m}")))
    };

    // The includes, before the keys of the file itself.
    if let Some((k, v)) = entries.iter().find(|(k, _)| k.get_ref() == "include") {
        let items: Vec<_> = match v.get_ref() {
            DeValue::String(_) => vec![*v],
            DeValue::Array(a) => a.iter().collect(),
            other => {
                return Err(err(
                    &at(k.span().start),
                    format!("include wants an array of file names, got {}", kind(other)),
                ))
            }
        };
        stack.push(text.id.clone());
        for item in items {
            let DeValue::String(name) = item.get_ref() else {
                return Err(err(
                    &at(item.span().start),
                    format!(
                        "include wants file names (strings), got {}",
                        kind(item.get_ref())
                    ),
                ));
            };
            let name = expand(name, "include", item.span().start)?;
            let included = match &text.origin {
                Origin::File(p) => {
                    let dir = p.parent().unwrap_or(Path::new("."));
                    src.file(&dir.join(&name))
                }
                Origin::Builtin(_) => builtin_include(&name),
            }
            .map_err(|e| {
                err(
                    &at(item.span().start),
                    format!(
                        "include {}: {}",
                        shell_quote(&name),
                        e.to_string().trim_start_matches("sandbox: profile: ")
                    ),
                )
            })?;
            let here = || format!("include {}", shell_quote(&name));
            if let Some(i) = stack.iter().position(|s| *s == included.id) {
                let mut chain: Vec<&str> = stack[i..].iter().map(String::as_str).collect();
                chain.push(&included.id);
                return Err(err(
                    &at(item.span().start),
                    format!("{}: a cycle: {}", here(), chain.join(" -> ")),
                ));
            }
            if stack.len() > MAX_INCLUDE_DEPTH {
                return Err(err(
                    &at(item.span().start),
                    format!(
                        "{}: includes nested deeper than {MAX_INCLUDE_DEPTH}",
                        here()
                    ),
                ));
            }
            load(included, src, stack, out)?;
        }
        stack.pop();
    }

    for (k, v) in entries {
        let key: &str = k.get_ref();
        if key == "include" {
            continue;
        }
        let line = at(k.span().start);
        let Some(opt) = option_for(key) else {
            let e = err(&line, format!("unknown key {key:?}"));
            let near = super::suggest(&format!("--{key}"));
            let near: Vec<&str> = near
                .iter()
                .filter_map(|l| option_for(l.trim_start_matches('-')))
                .map(|o| o.long.trim_start_matches('-'))
                .collect();
            return Err(match near.as_slice() {
                [] => e.with_hint("the keys are run's long options without the dashes ('sandbox run --help'), and include"),
                n => e.with_hint(format!("did you mean {}?", n.join(" or "))),
            });
        };
        let given = |value: Option<OsString>, offset: usize| Given {
            opt,
            name: opt.long.to_string(),
            value,
            origin: Some(at(offset)),
        };
        let scalar = |v: &toml::Spanned<DeValue>| -> Result<OsString> {
            match v.get_ref() {
                DeValue::String(s) => expand(s, key, v.span().start),
                DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                    .map(|n| n.to_string().into())
                    .map_err(|_| err(&at(v.span().start), format!("{key}: {i} is out of range"))),
                DeValue::Float(f) => Ok(f.as_str().replace('_', "").into()),
                other => Err(err(
                    &at(v.span().start),
                    format!(
                        "{key} wants {}, got {}",
                        if opt.repeatable {
                            "strings or numbers"
                        } else {
                            "a string or a number"
                        },
                        kind(other)
                    ),
                )),
            }
        };
        match (opt.takes_value(), v.get_ref()) {
            (false, DeValue::Boolean(set)) => put(out, given(None, k.span().start), *set),
            (false, other) => {
                return Err(err(
                    &line,
                    format!(
                        "{key} is a flag: it wants true or false, got {}",
                        kind(other)
                    ),
                ))
            }
            (true, DeValue::Array(a)) if opt.repeatable => {
                for item in a.iter() {
                    let value = scalar(item)?;
                    put(out, given(Some(value), item.span().start), true);
                }
            }
            (true, DeValue::Array(_)) => {
                return Err(err(
                    &line,
                    format!("{key} takes one value (a string or a number), got an array"),
                ))
            }
            (true, _) => {
                let value = scalar(v)?;
                put(out, given(Some(value), k.span().start), true);
            }
        }
    }
    Ok(())
}

/// An include in a built-in profile: another built-in one, by its file
/// name (`build.toml`).
fn builtin_include(name: &OsStr) -> Result<Text> {
    let found = name
        .to_str()
        .and_then(|n| n.strip_suffix(".toml"))
        .and_then(|n| BUILTIN.iter().find(|(b, _)| *b == n));
    match found {
        Some((n, text)) => Ok(builtin(n, text)),
        None => Err(Error::msg(
            "profile",
            "a built-in profile includes only other built-in ones",
        )),
    }
}

fn builtin(name: &'static str, text: &'static str) -> Text {
    Text {
        origin: Origin::Builtin(name),
        text: text.to_string(),
        id: format!("(built-in) {name}"),
    }
}

/// `v` with `~`, `${HOME}` and `${PWD}` expanded.
fn expand(v: &str, src: &dyn Source) -> std::result::Result<OsString, String> {
    let home = || {
        src.home()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| "HOME is not set, so ~ and ${HOME} mean nothing".to_string())
    };
    let mut out = OsString::new();
    let mut rest = v;
    if rest == "~" || rest.starts_with("~/") {
        out.push(home()?);
        rest = &rest[1..];
    }
    while let Some(i) = rest.find("${") {
        out.push(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("{v:?}: ${{ without its }}"));
        };
        match &after[..end] {
            "HOME" => out.push(home()?),
            "PWD" => out.push(
                src.cwd()
                    .ok_or("the current directory is unknown, so ${PWD} means nothing")?,
            ),
            other => {
                return Err(format!(
                    "{v:?}: unknown variable ${{{other}}}; only ${{HOME}}, ${{PWD}} and a leading ~ are expanded"
                ))
            }
        }
        rest = &after[end + 1..];
    }
    out.push(rest);
    Ok(out)
}

/// The profiles of the files: the user's directory, the installed one and
/// the built-in ones.
pub struct Files;

/// `$XDG_CONFIG_HOME/sandbox/profiles` (when it is absolute), else
/// `~/.config/sandbox/profiles`.
fn user_dir() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".config"))
        })?;
    Some(config.join("sandbox/profiles"))
}

/// PREFIX/share/sandbox/profiles, PREFIX being the directory above the
/// one this binary is in (`make install` puts it in PREFIX/bin), when
/// only root or the caller can have put files there: the directory, and
/// share/sandbox and share above it, each owned by one of them and
/// writable by no one else. A binary run from /tmp/x/ would otherwise
/// take its profiles from a /tmp/share/ that anyone can make.
fn installed_dir() -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?.join("share/sandbox/profiles");
    let me = std::fs::metadata("/proc/self").ok()?.uid();
    let trusted = dir.ancestors().take(3).all(|d| {
        std::fs::metadata(d).is_ok_and(|m| (m.uid() == 0 || m.uid() == me) && m.mode() & 0o022 == 0)
    });
    trusted.then_some(dir)
}

/// The directories named profiles are looked up in, in order.
pub fn dirs() -> Vec<PathBuf> {
    user_dir().into_iter().chain(installed_dir()).collect()
}

impl Source for Files {
    fn named(&self, name: &str) -> Result<Text> {
        let dirs = dirs();
        for d in &dirs {
            let p = d.join(format!("{name}.toml"));
            match read(&p) {
                Err(e) if e.raw_errno() == Some(libc::ENOENT) => continue,
                r => return r,
            }
        }
        if let Some((n, text)) = BUILTIN.iter().find(|(n, _)| *n == name) {
            return Ok(builtin(n, text));
        }
        let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        Err(Error::msg("profile", format!("no profile named {name:?}")).with_hint(format!(
            "looked for {name}.toml in {} and among the built-in ones ({}); a file is named by a path with a / or ending in .toml",
            looked.join(", "),
            BUILTIN.iter().map(|b| b.0).collect::<Vec<_>>().join(", ")
        )))
    }

    fn file(&self, path: &Path) -> Result<Text> {
        read(path)
    }

    fn home(&self) -> Option<OsString> {
        std::env::var_os("HOME")
    }

    fn cwd(&self) -> Option<OsString> {
        std::env::current_dir().ok().map(Into::into)
    }
}

/// A profile file, through the one reader of untrusted files.
fn read(path: &Path) -> Result<Text> {
    let bytes = crate::confine::untrusted::read_rootfs_file(path, MAX_PROFILE_FILE)
        .map_err(|r| r.into_error("profile", path))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::msg("profile", "not UTF-8").with_path(path.display().to_string()))?;
    let id = std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string();
    Ok(Text {
        origin: Origin::File(path.to_path_buf()),
        text,
        id,
    })
}

/// `sandbox profile list`: each named profile once, with where it is read
/// from (the first found, as `--profile NAME` finds it).
pub fn list() -> String {
    let mut seen: Vec<(String, String)> = Vec::new();
    for d in dirs() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut names: Vec<(String, String)> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let n = e.file_name().to_str()?.strip_suffix(".toml")?.to_string();
                is_name(OsStr::new(&n)).then(|| (n, e.path().display().to_string()))
            })
            .collect();
        names.sort();
        for (n, p) in names {
            if !seen.iter().any(|(s, _)| *s == n) {
                seen.push((n, p));
            }
        }
    }
    for (n, _) in BUILTIN {
        if !seen.iter().any(|(s, _)| s == n) {
            seen.push((n.to_string(), "(built-in)".to_string()));
        }
    }
    let width = seen.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    seen.iter()
        .map(|(n, p)| format!("{n:<width$}  {p}\n"))
        .collect()
}

/// Profiles held in memory, for the tests: each file by its path, each
/// named one as `/p/NAME.toml`; `any` answers every other name and path.
#[cfg(test)]
pub(crate) struct Memory {
    pub files: Vec<(&'static str, &'static str)>,
    pub any: Option<&'static str>,
}

#[cfg(test)]
impl Memory {
    pub fn new(files: &[(&'static str, &'static str)]) -> Memory {
        Memory {
            files: files.to_vec(),
            any: None,
        }
    }
}

#[cfg(test)]
impl Source for Memory {
    fn named(&self, name: &str) -> Result<Text> {
        self.file(&PathBuf::from(format!("/p/{name}.toml")))
            .map_err(|_| Error::msg("profile", format!("no profile named {name:?}")))
    }

    fn file(&self, path: &Path) -> Result<Text> {
        let shown = path.display().to_string();
        // `a/../b` as `b`: includes are joined to their file's directory.
        let mut parts: Vec<&OsStr> = Vec::new();
        for c in path.components() {
            match c {
                std::path::Component::ParentDir => {
                    parts.pop();
                }
                std::path::Component::Normal(n) => parts.push(n),
                _ => {}
            }
        }
        let id = format!("/{}", parts.join(OsStr::new("/")).to_string_lossy());
        let text = self
            .files
            .iter()
            .find(|(p, _)| *p == id)
            .map(|(_, t)| *t)
            .or(self.any)
            .ok_or_else(|| Error::errno("profile", Some(shown), libc::ENOENT))?;
        Ok(Text {
            origin: Origin::File(path.to_path_buf()),
            text: text.to_string(),
            id,
        })
    }

    fn home(&self) -> Option<OsString> {
        Some("/home/u".into())
    }

    fn cwd(&self) -> Option<OsString> {
        Some("/work/p q".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{parse_with, Cmd};
    use crate::plan::RunArgs;

    fn run_with(files: &[(&'static str, &'static str)], argv: &[&str]) -> Result<RunArgs> {
        let mut a = vec![OsString::from("run")];
        a.extend(argv.iter().map(OsString::from));
        match parse_with(a, &Memory::new(files))? {
            Cmd::Run(r, _) => Ok(*r),
            other => panic!("{other:?}"),
        }
    }

    fn fails(files: &[(&'static str, &'static str)], argv: &[&str]) -> String {
        let e = run_with(files, argv).unwrap_err();
        assert_eq!(e.exit, 125);
        let mut s = e.to_string();
        if let Some(h) = e.hint {
            s.push_str(" | hint: ");
            s.push_str(&h);
        }
        s
    }

    #[test]
    fn keys_are_the_long_options() {
        let r = run_with(
            &[(
                "/p/a.toml",
                "hostname = \"h\"\nread-only = true\npids = 64\ncpus = 0.5\nsetenv = [\"A=1\", \"B=2\"]\nlimit = \"nofile=5\"\n",
            )],
            &["--profile", "a", "r"],
        )
        .unwrap();
        assert_eq!(r.hostname, "h");
        assert_eq!(r.root, crate::plan::RootMode::ReadOnly);
        assert_eq!(r.cgroup.pids, Some(64));
        assert_eq!(r.cgroup.cpus_milli, Some(500));
        assert_eq!(r.setenv.len(), 2);
        assert_eq!(r.limits.len(), 1);
    }

    #[test]
    fn later_profiles_and_the_command_line_win() {
        let files = [
            (
                "/p/a.toml",
                "hostname = \"a\"\nuid = 1\nsetenv = [\"A=a\"]\nread-only = true\n",
            ),
            (
                "/p/b.toml",
                "hostname = \"b\"\nsetenv = [\"B=b\"]\nrw = true\n",
            ),
        ];
        let r = run_with(&files, &["--profile", "a", "--profile", "b", "r"]).unwrap();
        assert_eq!((r.hostname.as_str(), r.uid), ("b", 1));
        // rw replaced read-only rather than clashing with it.
        assert_eq!(r.root, crate::plan::RootMode::ReadWrite);
        assert_eq!(r.setenv.len(), 2);
        let r = run_with(&files, &["--profile", "b", "--profile", "a", "r"]).unwrap();
        assert_eq!(r.hostname, "a");
        assert_eq!(r.root, crate::plan::RootMode::ReadOnly);
        // The command line over both, wherever it is written.
        let r = run_with(
            &files,
            &[
                "--hostname",
                "c",
                "--profile",
                "a",
                "--read-only",
                "r",
                "--profile",
                "b",
            ],
        )
        .unwrap();
        assert_eq!(r.hostname, "c");
        assert_eq!(r.root, crate::plan::RootMode::ReadOnly);
        // What the command line excludes goes too, rather than clash.
        let r = run_with(&files, &["--profile", "a", "--rw", "r"]).unwrap();
        assert_eq!(r.root, crate::plan::RootMode::ReadWrite);
        let net = [("/p/n.toml", "share-net = true\n")];
        let r = run_with(&net, &["--profile", "n", "--net", "none", "r"]).unwrap();
        assert_eq!(r.net.mode, crate::confine::net::NetMode::None);
        assert!(!r.share_net);
        // Control: on the command line they do clash, with a profile too.
        assert!(fails(&[], &["--share-net", "--net", "none", "r"]).contains("exclude each other"));
        let both = ["--profile", "n", "--rw", "--read-only", "r"];
        assert!(fails(&net, &both).contains("exclude each other"));
        // Repeatable options add up: the profiles' first.
        let r = run_with(&files, &["--profile", "a", "--setenv", "C=c", "r"]).unwrap();
        let keys: Vec<_> = r.setenv.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(keys, ["A", "C"]);
    }

    #[test]
    fn false_unsets_a_flag() {
        let files = [
            ("/p/a.toml", "read-only = true\ninit = true\n"),
            ("/p/b.toml", "include = [\"a.toml\"]\nread-only = false\n"),
        ];
        let r = run_with(&files, &["--profile", "b", "r"]).unwrap();
        assert_eq!(r.root, crate::plan::RootMode::Ephemeral);
        assert!(r.init);
    }

    #[test]
    fn binds_and_tmpfs_keep_the_files_order() {
        let files = [(
            "/p/a.toml",
            "tmpfs = [\"~\"]\nbind = [\"${PWD}\", \"~/x:/y\"]\ntmpfs-after = 1\n",
        )];
        // An unknown key after them still fails; without it, the order.
        assert!(fails(&files, &["--profile", "a", "r"])
            .contains("/p/a.toml:3: unknown key \"tmpfs-after\""));
        let files = [(
            "/p/a.toml",
            "bind = [\"/before\"]\ntmpfs = [\"~\"]\nbind-try = [\"~/.cargo\"]\nchdir = \"${PWD}/sub\"\n",
        )];
        let r = run_with(&files, &["--profile", "a", "--bind", "/last", "r"]).unwrap();
        let binds: Vec<_> = r
            .binds
            .iter()
            .map(|b| (b.src.clone(), b.optional))
            .collect();
        assert_eq!(
            binds,
            [
                ("/before".into(), false),
                ("/home/u/.cargo".into(), true),
                ("/last".into(), false)
            ]
        );
        assert_eq!(r.tmpfs[0].dst, "/home/u");
        assert_eq!(r.tmpfs[0].after_binds, 1);
        assert_eq!(r.chdir, "/work/p q/sub");
    }

    #[test]
    fn expansion() {
        let src = Memory::new(&[]);
        let x = |v: &str| expand(v, &src);
        assert_eq!(x("~").unwrap(), "/home/u");
        assert_eq!(x("~/a").unwrap(), "/home/u/a");
        assert_eq!(x("${HOME}/a:${PWD}").unwrap(), "/home/u/a:/work/p q");
        assert_eq!(x("a~/b").unwrap(), "a~/b");
        assert_eq!(x("~user/a").unwrap(), "~user/a");
        assert_eq!(x("$HOME and $ and $$").unwrap(), "$HOME and $ and $$");
        assert!(x("${USER}")
            .unwrap_err()
            .contains("unknown variable ${USER}"));
        assert!(x("${HOME").unwrap_err().contains("without"));
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_key() {
        let cases: &[(&str, &str)] = &[
            (
                "\n\nhostnam = \"x\"\n",
                "/p/a.toml:3: unknown key \"hostnam\" | hint: did you mean hostname?",
            ),
            ("help = true\n", "/p/a.toml:1: unknown key \"help\""),
            ("profile = \"b\"\n", "/p/a.toml:1: unknown key \"profile\""),
            (
                "\nread-only = \"yes\"\n",
                "/p/a.toml:2: read-only is a flag: it wants true or false, got a string",
            ),
            (
                "hostname = true\n",
                "/p/a.toml:1: hostname wants a string or a number, got a boolean",
            ),
            (
                "hostname = [\"a\"]\n",
                "/p/a.toml:1: hostname takes one value (a string or a number), got an array",
            ),
            (
                "bind = [\"/a\",\n  true]\n",
                "/p/a.toml:2: bind wants strings or numbers, got a boolean",
            ),
            (
                "[net]\nmode = 1\n",
                "/p/a.toml:1: net wants a string or a number, got a table",
            ),
            ("pids = 0\n", "/p/a.toml:1: pids: --pids wants a number"),
            (
                "bind = \"${FOO}\"\n",
                "/p/a.toml:1: bind: \"${FOO}\": unknown variable ${FOO}",
            ),
            ("x = = 1\n", "/p/a.toml:1: not TOML"),
            (
                "include = \"nope.toml\"\n",
                "/p/a.toml:1: include nope.toml: /p/nope.toml: No such file or directory",
            ),
            (
                "include = [1]\n",
                "/p/a.toml:1: include wants file names (strings), got an integer",
            ),
            (
                "include = [\"a.toml\"]\n",
                "/p/a.toml:1: include a.toml: a cycle: /p/a.toml -> /p/a.toml",
            ),
        ];
        for (text, want) in cases {
            let got = fails(&[("/p/a.toml", text)], &["--profile", "a", "r"]);
            assert!(got.starts_with("sandbox: profile: "), "{got}");
            assert!(got.contains(want), "{text:?}: {got}");
        }
        let got = fails(&[], &["--profile", "a", "r"]);
        assert!(got.contains("no profile named \"a\""), "{got}");
    }

    #[test]
    fn include_cycles_and_depth() {
        let files = [
            ("/p/a.toml", "include = [\"sub/b.toml\"]\n"),
            (
                "/p/sub/b.toml",
                "hostname = \"b\"\ninclude = [\"../a.toml\"]\n",
            ),
        ];
        let got = fails(&files, &["--profile", "a", "r"]);
        assert!(
            got.contains("/p/sub/b.toml:2: include ../a.toml: a cycle: /p/a.toml -> /p/sub/b.toml -> /p/a.toml"),
            "{got}"
        );
        // A chain deeper than the bound, and one just within it.
        let chain: Vec<(String, String)> = (0..=MAX_INCLUDE_DEPTH + 1)
            .map(|i| {
                (
                    format!("/p/c{i}.toml"),
                    format!("include = [\"c{}.toml\"]\nuid = {i}\n", i + 1),
                )
            })
            .collect();
        let mut files: Vec<(&'static str, &'static str)> = chain
            .iter()
            .map(|(p, t)| (&*p.clone().leak(), &*t.clone().leak()))
            .collect();
        let deep = fails(&files, &["--profile", "c0", "r"]);
        assert!(deep.contains("nested deeper than 8"), "{deep}");
        files.retain(|(p, _)| *p != format!("/p/c{MAX_INCLUDE_DEPTH}.toml"));
        files.push((format!("/p/c{MAX_INCLUDE_DEPTH}.toml").leak(), "uid = 99\n"));
        let r = run_with(&files, &["--profile", "c0", "r"]).unwrap();
        // The including file's own keys come after its includes'.
        assert_eq!(r.uid, 0);
    }

    #[test]
    fn show_round_trips() {
        let files = [
            ("/p/a.toml", "include = [\"b.toml\"]\nhostname = \"a\"\nsetenv = [\"Q=it's here\"]\n"),
            ("/p/b.toml", "net = \"none\"\ntmpfs = [\"~\"]\nbind-try = [\"${PWD}\"]\nread-only = true\ntimeout = 60\n"),
        ];
        let src = Memory::new(&files);
        let line = show(OsStr::new("a"), &src).unwrap();
        assert_eq!(
            line,
            "--net none --tmpfs /home/u --bind-try '/work/p q' --read-only --timeout 60 --hostname a --setenv 'Q=it'\\''s here'"
        );
        let words = std::process::Command::new("sh")
            .args(["-c", &format!("printf '%s\\0' {line}")])
            .output()
            .unwrap()
            .stdout;
        let mut argv = vec![OsString::from("run")];
        argv.extend(
            words
                .split(|&b| b == 0)
                .filter(|w| !w.is_empty())
                .map(|w| OsStr::from_bytes(w).to_os_string()),
        );
        argv.push("r".into());
        let shown = parse_with(argv, &src).unwrap();
        let given = parse_with(
            ["run", "--profile", "a", "r"].map(OsString::from).to_vec(),
            &src,
        )
        .unwrap();
        assert_eq!(shown, given);
    }

    #[test]
    fn the_shipped_profiles_parse() {
        let src = Memory::new(&[]);
        for (name, text) in BUILTIN {
            let got = show(OsStr::new(name), &Builtins(&src));
            let line = got.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(line.contains("--net none"), "{name}: {line}");
            assert!(!text.is_empty());
        }
    }

    /// The built-in profiles, with `src`'s HOME and PWD.
    struct Builtins<'a>(&'a Memory);

    impl Source for Builtins<'_> {
        fn named(&self, name: &str) -> Result<Text> {
            let (n, t) = BUILTIN.iter().find(|(n, _)| *n == name).unwrap();
            Ok(builtin(n, t))
        }
        fn file(&self, path: &Path) -> Result<Text> {
            self.0.file(path)
        }
        fn home(&self) -> Option<OsString> {
            self.0.home()
        }
        fn cwd(&self) -> Option<OsString> {
            self.0.cwd()
        }
    }

    #[test]
    fn names_and_files() {
        for n in ["build", "untrusted-script", "a.b", "x_1"] {
            assert!(is_name(OsStr::new(n)), "{n}");
        }
        for f in [
            "./build",
            "build.toml",
            "/etc/x",
            "a/b",
            ".hidden",
            "",
            "a b",
        ] {
            assert!(!is_name(OsStr::new(f)), "{f}");
        }
    }
}
