//! `sandbox man` and `sandbox completions bash|zsh|fish`: the manual page
//! sandbox(1) and the shell completions, rendered from the same option
//! table as `sandbox run --help` (`cli::RUN_OPTIONS`), so that none of
//! them can drift from the others. Pure: text in, text out.
//!
//! `make install` runs the freshly built binary to write them under
//! PREFIX/share (man1/sandbox.1, bash-completion, zsh site-functions, fish
//! vendor_completions.d).

use crate::cli::{
    Group, Opt, RunOpt, RunOption, COMMANDS, RUN_ABOUT, RUN_EXIT_STATUS, RUN_OPTIONS,
};
use crate::confine::limits;

/// A shell `sandbox completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

impl Shell {
    pub const ALL: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
        }
    }

    /// The script, for stdout.
    pub fn script(self) -> String {
        match self {
            Shell::Bash => bash(),
            Shell::Zsh => zsh(),
            Shell::Fish => fish(),
        }
    }
}

/// What a completion offers for an option's value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Values {
    /// Nothing to offer: a name, a number, a size, a path inside.
    Free,
    /// One of these words (`on|off`).
    Choices(Vec<&'static str>),
    /// A path on the host.
    HostPath,
    /// `--limit`: a resource name, then `=`.
    Resource,
}

/// A match on the option's id with no `_` arm: a new option of `run` does
/// not build until it says what its value completes to.
fn values(o: &RunOption) -> Values {
    use RunOpt as O;
    // The words of `on|off`, from the table.
    let choices = || Values::Choices(o.value.unwrap_or_default().split('|').collect());
    match o.id {
        O::IdMap | O::Net | O::Seccomp | O::Landlock | O::Userns | O::Stdio => choices(),
        // Host paths. (--chdir DIR and --tmpfs DST are paths inside the
        // sandbox: nothing to offer.)
        O::Bind
        | O::RoBind
        | O::BindTry
        | O::RoBindTry
        | O::StatusFile
        | O::Profile
        | O::SeccompProfile => Values::HostPath,
        // Paths inside the sandbox, but most used with the host's root,
        // where they are the host's.
        O::AllowRead | O::AllowWrite | O::AllowExec => Values::HostPath,
        O::Limit => Values::Resource,
        O::Hostname
        | O::Chdir
        | O::Setenv
        | O::Uid
        | O::Gid
        | O::Publish
        | O::AllowNet
        | O::AllowHost
        | O::Tmpfs
        | O::TmpSize
        | O::ShmSize
        | O::RootSize
        | O::Name
        | O::Timeout
        | O::KillAfter
        | O::StatusFd
        | O::NsLimit
        | O::Memory
        | O::Pids
        | O::Cpus => Values::Free,
        // Flags: no value.
        O::ShareNet
        | O::HostLoopback
        | O::Dns
        | O::BindSymlinks
        | O::ReadOnly
        | O::Rw
        | O::Sys
        | O::Detach
        | O::Init
        | O::ReportDenials
        | O::Verbose
        | O::Help
        | O::Version => Values::Free,
    }
}

/// The help of an option cut short for the one-line descriptions of zsh
/// and fish: no parentheses, no backquotes, the first clause, at most
/// about 60 characters.
fn brief(help: &str) -> String {
    let mut s = String::new();
    let mut depth = 0;
    for c in help.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ';' if depth == 0 => break,
            '`' => {}
            '[' if depth == 0 => s.push('<'),
            ']' if depth == 0 => s.push('>'),
            c if depth == 0 => s.push(c),
            _ => {}
        }
    }
    let mut s = s
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" ,", ",");
    if s.len() > 60 {
        if let Some(cut) = s.find([',', ':']) {
            s.truncate(cut);
        }
    }
    s
}

fn names(o: &Opt) -> Vec<String> {
    let mut v = vec![o.long.to_string()];
    v.extend(o.short.map(|c| format!("-{c}")));
    v
}

// ---------------------------------------------------------------------
// The man page

/// Text for roff: backslashes and dashes escaped, `code` in bold, and a
/// line that would start with a control character guarded.
fn roff(text: &str) -> String {
    let mut out = String::new();
    let mut bold = false;
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            '`' => {
                out.push_str(if bold { "\\fR" } else { "\\fB" });
                bold = !bold;
            }
            c => out.push(c),
        }
    }
    if bold {
        out.push_str("\\fR");
    }
    out.lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

/// Paragraphs (separated by blank lines) as roff, each after a `.PP`.
fn paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(|p| format!(".PP\n{}", roff(p.trim())))
        .collect()
}

/// How the man page names an option: `\fB\-v\fR, \fB\-\-verbose\fR`,
/// `\fB\-\-hostname\fR \fINAME\fR`.
fn man_spec(o: &Opt) -> String {
    let mut s = String::new();
    if let Some(c) = o.short {
        s.push_str(&format!("\\fB\\-{c}\\fR, "));
    }
    s.push_str(&format!("\\fB{}\\fR", o.long.replace('-', "\\-")));
    if let Some(v) = o.value {
        s.push_str(&format!(" \\fI{}\\fR", v.replace('-', "\\-")));
    }
    s
}

const MAN_ENVIRONMENT: &str = "\
The command's environment starts empty. Then come `PATH` (a standard one), \
`HOME` (from the rootfs's /etc/passwd for the uid, else /; with the host's \
/ as ROOTFS, the caller's own), `TERM` (the caller's, if set), and the \
`--setenv` values, which override the others. No other variable of the \
caller reaches the command.

sandbox itself reads these (a test checks that the list is whole):";

/// Every variable sandbox reads from its own environment, and what for
/// (`the_environment_section_names_every_variable_read` checks the
/// sources against it).
const MAN_ENV_VARS: &[(&str, &str)] = &[
    ("TERM", "passed on to the command"),
    (
        "PATH",
        "where pasta (--net pasta, sandbox doctor) and newuidmap/newgidmap (--id-map) are looked for",
    ),
    (
        "HOME",
        "kept for the command when ROOTFS is the host's / (unless --setenv HOME=...); the image cache's base when XDG_CACHE_HOME is not set; what ~ and ${HOME} in a profile expand to",
    ),
    (
        "XDG_RUNTIME_DIR",
        "where the state directory of named sandboxes is: XDG_RUNTIME_DIR/sandbox (when it is an absolute path to a directory), else /tmp/sandbox-run-UID",
    ),
    (
        "XDG_CACHE_HOME",
        "where unpacked images and tarballs are kept: XDG_CACHE_HOME/sandbox (default ~/.cache/sandbox)",
    ),
    (
        "XDG_CONFIG_HOME",
        "where named profiles are looked for first: XDG_CONFIG_HOME/sandbox/profiles (default ~/.config/sandbox/profiles)",
    ),
    (
        "SANDBOX_BWRAP_DEFAULTS",
        "the bubblewrap front end only (sandbox-bwrap): a list of sandbox's defaults to opt into, as --sandbox-defaults takes (docs/BWRAP.md); taken out of the command's environment",
    ),
    (
        "SANDBOX_UNPACK_MAX_ENTRIES, SANDBOX_UNPACK_MAX_BYTES",
        "the caps on an image or tarball being unpacked (default 1000000 entries, 64 GiB of file data)",
    ),
];

const MAN_FILES: &[(&str, &str)] = &[
    (
        "ROOTFS/etc/passwd",
        "where the command's HOME comes from, for its --uid",
    ),
    (
        "$XDG_RUNTIME_DIR/sandbox/, else /tmp/sandbox-run-UID/",
        "the state directory: one entry per running sandbox (named or not) for ps, exec, logs, stop and kill, and a detached sandbox's log; 0700, the caller's own, refused otherwise",
    ),
    (
        "$XDG_CACHE_HOME/sandbox/images/, default ~/.cache/sandbox/images/",
        "the image cache: images and tarballs unpacked for ROOTFS, keyed by content; 'sandbox images' lists it, 'sandbox images --prune' empties it",
    ),
    (
        "$XDG_CONFIG_HOME/sandbox/profiles/NAME.toml, default ~/.config/sandbox/profiles/NAME.toml",
        "your named profiles, for --profile NAME; found before the installed ones",
    ),
    (
        "PREFIX/share/sandbox/profiles/NAME.toml",
        "the installed profiles (untrusted-script, build, agent, as 'make install' puts them), PREFIX being the directory above the binary's; the same three are built into the binary, and found last",
    ),
    (
        "/proc/self/cgroup, /sys/fs/cgroup",
        "the caller's own cgroup, under which --memory, --pids and --cpus make one for the run; it must be delegated to the caller",
    ),
    (
        "/etc/apparmor.d/sandbox",
        "the AppArmor profile 'make install' installs where AppArmor 4 is: it grants the installed binary 'userns', which Ubuntu's kernel.apparmor_restrict_unprivileged_userns otherwise takes from it",
    ),
    (
        "PREFIX/share/man/man1/sandbox.1",
        "this page, as 'make install' writes it from 'sandbox man'",
    ),
    (
        "PREFIX/share/bash-completion/completions/sandbox, PREFIX/share/zsh/site-functions/_sandbox, PREFIX/share/fish/vendor_completions.d/sandbox.fish",
        "the completions, as 'make install' writes them from 'sandbox completions SHELL'",
    ),
];

const MAN_EXAMPLES: &[(&str, &str)] = &[
    ("An interactive shell:", "sandbox run ./rootfs"),
    (
        "Wrapping an untrusted script: only the script is visible, read-only, and nothing it writes survives:",
        "sandbox run \\-\\-ro\\-bind ./untrusted.sh:/job.sh ./rootfs /bin/sh /job.sh",
    ),
    (
        "The same with a directory for its results, no writable root, and a time limit:",
        "mkdir \\-p out\nsandbox run \\-\\-read\\-only \\-\\-timeout 60 \\-\\-ro\\-bind ./untrusted.sh:/job.sh \\e\n    \\-\\-bind ./out:/out ./rootfs /bin/sh /job.sh",
    ),
    (
        "Installing something into the rootfs for good:",
        "sandbox run \\-\\-rw ./rootfs /bin/sh \\-c 'echo \"export EDITOR=vi\" >> /etc/profile'",
    ),
    (
        "Memory and process limits, in a cgroup delegated by systemd:",
        "systemd\\-run \\-\\-user \\-\\-scope \\-p Delegate=yes \\e\n    sandbox run \\-\\-memory 256M \\-\\-pids 64 ./rootfs /bin/sh",
    ),
    (
        "A build of the current directory on the host's root, the home hidden but for the toolchains and their caches, no network (the build profile):",
        "sandbox run \\-\\-profile build / make",
    ),
    (
        "What that profile sets, as options:",
        "sandbox profile show build",
    ),
    (
        "Why does a program fail inside? The calls the seccomp filter refused, by name, count and first pid (the program still gets the same errno):",
        "sandbox run \\-v \\-\\-report\\-denials \\-\\-status\\-file st.json ./rootfs ./build.sh",
    ),
    (
        "Docker's own seccomp profile in place of the default filter:",
        "sandbox run \\-\\-seccomp\\-profile ./default.json ./rootfs /bin/sh",
    ),
    (
        "A build on the host's root that may read only the toolchain, /etc and the project, and write only the project:",
        "sandbox run \\-\\-bind . \\-\\-allow\\-exec /usr \\-\\-allow\\-read /etc \\-\\-allow\\-write . / make",
    ),
    (
        "A coding agent's script that may reach the code host and the package index by name, and nothing else (an HTTP and a SOCKS5 proxy on the sandbox's 127.0.0.1, named in HTTP_PROXY and the rest, served from the host; names resolving to private, link-local or host addresses are refused; the refusals are in the status file's \"net\"):",
        "sandbox run \\-\\-allow\\-host github.com \\-\\-allow\\-host '*.githubusercontent.com' \\e\n    \\-\\-allow\\-host pypi.org \\-\\-allow\\-host files.pythonhosted.org \\e\n    \\-\\-bind ./project:/work \\-\\-chdir /work \\-\\-status\\-file status.json \\e\n    ./rootfs /bin/sh ./agent\\-task.sh",
    ),
    (
        "A build on a host (or in a container) that refuses user namespaces: the host mode, the host's / read-only but for the project, the rest of the home hidden:",
        "sandbox run \\-\\-userns off \\-\\-tmpfs ~ \\-\\-bind ~/project / make \\-C ~/project",
    ),
    (
        "Reading this page without installing it:",
        "sandbox man | man \\-l \\-",
    ),
];

const MAN_PROFILES: &str = "\
A profile is a TOML file whose keys are the long options of \
`sandbox run` without the dashes, read by the same option table: a flag \
takes true or false, an option with a value a string or a number, a \
repeatable one an array. `include = [\"other.toml\"]` reads other profiles \
first (relative to the including file; at most 8 deep; a cycle is an \
error). Every option but help, version and profile is a key.

Profiles apply in the order given, each after its includes, keys in the \
file's order (a tmpfs before the binds over it); an option given once \
replaces an earlier one and the one it excludes (rw and read-only, net \
and share-net), false takes a flag back, a repeatable option adds to the \
list. The command line comes last and wins the same way.

In string values a leading ~ and ${HOME} are the caller's HOME, ${PWD} \
the current directory; any other ${...} is an error. An unknown key, a \
wrong type or a bad value fails with 125 and names the file, the line \
and the key. A profile file must be a regular file of at most 256 KiB.

--profile NAME (no / and no .toml) looks for NAME.toml in \
$XDG_CONFIG_HOME/sandbox/profiles (default ~/.config/sandbox/profiles), \
then PREFIX/share/sandbox/profiles (when only root or the caller can \
write it), then among the built-in untrusted-script, build and agent. \
`sandbox profile list` lists them; `sandbox profile show NAME|FILE` \
prints the options one sets, shell-quoted on one line.";

const MAN_SEE_ALSO: &str = "bwrap(1), unshare(1), prlimit(1), systemd\\-run(1), \
user_namespaces(7), pid_namespaces(7), mount_namespaces(7), cgroups(7), \
capabilities(7), landlock(7), seccomp(2)";

/// The manual page sandbox(1), in roff (man(7) macros).
pub fn man_page() -> String {
    let version = env!("CARGO_PKG_VERSION");
    let mut m = String::new();
    m.push_str(
        ".\\\" Generated by 'sandbox man' from the option table in src/cli/mod.rs; do not edit.\n",
    );
    m.push_str(&format!(
        ".TH SANDBOX 1 \"\" \"sandbox {version}\" \"User Commands\"\n"
    ));
    // No hyphenation, ragged right: option names must stay whole.
    m.push_str(".nh\n.ad l\n");
    m.push_str(".SH NAME\nsandbox \\- run untrusted commands in a rootless Linux sandbox\n");

    m.push_str(".SH SYNOPSIS\n.nf\n");
    for line in crate::cli::synopses() {
        m.push_str(&roff(&format!("`{line}`")));
    }
    m.push_str("\\fBsandbox \\-\\-help\\fR | \\fB\\-\\-version\\fR\n.fi\n");

    m.push_str(".SH DESCRIPTION\n");
    m.push_str(&paragraphs(RUN_ABOUT));
    m.push_str(&paragraphs(
        "The command runs with no capabilities, even as uid 0, under no_new_privs, \
         a seccomp filter and, where the kernel has it, Landlock. sandbox needs \
         no privileges of its own: it refuses to run setuid, setgid or with file \
         capabilities.",
    ));
    m.push_str(&paragraphs(
        "Where the host refuses unprivileged user namespaces (user.max_user_namespaces \
         0, AppArmor's restriction, a container's seccomp profile or masked /proc), \
         or refuses their set-up once they are made (a fresh /proc, a mount or \
         pivot_root, refused before the command runs; a caller's mistake such as a \
         missing --bind source is never taken for that), \
         --userns auto (the default) runs the command in the host mode: no namespaces, \
         the host's / read-only under Landlock but for the --bind targets, --tmpfs \
         targets hidden, the same seccomp filter, no_new_privs and rlimits, with one \
         notice naming what was lost and why; --userns require fails instead, with the \
         fix. sandbox doctor names the cause.",
    ));
    m.push_str(&paragraphs(
        "Called sandbox-bwrap or bwrap (the links make install makes), or run as \
         `sandbox bwrap ARGS`, the binary takes bubblewrap's command line instead: \
         a root built from the operations given, in their order, and the command \
         run as bubblewrap runs it; an option it does not support fails with exit \
         1 (docs/BWRAP.md). --sandbox-defaults LIST (or SANDBOX_BWRAP_DEFAULTS=LIST) \
         opts into sandbox's own defaults instead, LIST of landlock (or \
         landlock=require), seccomp, relay, caps, limits, masks, or all.",
    ));

    m.push_str(".SH COMMANDS\n");
    for (name, what) in COMMANDS {
        let shown = match *name {
            "run" => "run [OPTIONS] ROOTFS [--] [COMMAND [ARG...]]",
            "completions" => "completions bash|zsh|fish",
            n => n,
        };
        m.push_str(&format!(
            ".TP\n{}{}",
            roff(&format!("`{shown}`")),
            roff(what)
        ));
    }

    m.push_str(".SH OPTIONS\nThe options of \\fBsandbox run\\fR; they may come before or after ROOTFS, but not after COMMAND: what follows COMMAND is the command's.\n");
    for group in Group::ALL {
        m.push_str(&format!(".SS {}\n", group.heading()));
        if let Some(note) = group.note() {
            m.push_str(&roff(&format!("({note})")));
        }
        for o in RUN_OPTIONS.iter().filter(|o| o.group == group) {
            m.push_str(&format!(".TP\n{}\n{}", man_spec(o), roff(o.help)));
        }
        if let Some(footer) = group.footer() {
            m.push_str(&paragraphs(footer));
        }
    }

    m.push_str(".SH PROFILES\n");
    m.push_str(&paragraphs(MAN_PROFILES));

    m.push_str(".SH EXIT STATUS\n");
    let status = RUN_EXIT_STATUS
        .strip_prefix("Exit status: ")
        .unwrap_or(RUN_EXIT_STATUS);
    m.push_str(&roff(status));
    m.push_str(&paragraphs(
        "Every failure is one line on stderr, `sandbox: <step>: <path>: <reason>`, \
         and known pitfalls add a `sandbox: hint: ...` line.",
    ));
    m.push_str(".SH ENVIRONMENT\n");
    m.push_str(&paragraphs(MAN_ENVIRONMENT));
    for (name, what) in MAN_ENV_VARS {
        m.push_str(&format!(".TP\n\\fB{name}\\fR\n{}", roff(what)));
    }
    m.push_str(".SH FILES\n");
    for (path, what) in MAN_FILES {
        m.push_str(&format!(
            ".TP\n\\fI{}\\fR\n{}",
            roff(path).trim_end(),
            roff(what)
        ));
    }
    m.push_str(".SH EXAMPLES\n");
    for (what, cmd) in MAN_EXAMPLES {
        m.push_str(&format!(
            ".PP\n{}.PP\n.RS 4\n.nf\n{cmd}\n.fi\n.RE\n",
            roff(what)
        ));
    }
    m.push_str(".SH SEE ALSO\n");
    m.push_str(MAN_SEE_ALSO);
    m.push_str(
        "\n.PP\nThe project's README.md, docs/SECURITY.md (what is and is not protected \
         against) and docs/SUPERVISION.md (signals, limits, timeouts).\n",
    );
    m
}

// ---------------------------------------------------------------------
// Completions

/// Words for a shell, separated by spaces.
fn words<'a>(w: impl IntoIterator<Item = &'a str>) -> String {
    w.into_iter().collect::<Vec<_>>().join(" ")
}

fn resource_names() -> Vec<String> {
    limits::RESOURCES
        .iter()
        .map(|r| format!("{}=", r.name))
        .collect()
}

fn bash() -> String {
    let all: Vec<String> = RUN_OPTIONS.iter().flat_map(|o| names(o)).collect();
    let with_value: Vec<String> = RUN_OPTIONS
        .iter()
        .filter(|o| o.takes_value())
        .flat_map(|o| names(o))
        .collect();
    let mut cases = String::new();
    for o in RUN_OPTIONS.iter().filter(|o| o.takes_value()) {
        let action = match values(o) {
            Values::Free => "return 0".to_string(),
            Values::Choices(c) => format!(
                "COMPREPLY=($(compgen -W '{}' -- \"$cur\")); return 0",
                words(c)
            ),
            Values::HostPath => "COMPREPLY=($(compgen -f -- \"$cur\")); return 0".to_string(),
            Values::Resource => format!(
                "compopt -o nospace 2>/dev/null; COMPREPLY=($(compgen -W '{}' -- \"$cur\")); return 0",
                resource_names().join(" ")
            ),
        };
        cases.push_str(&format!("        {}) {action} ;;\n", names(o).join("|")));
    }
    let commands = words(COMMANDS.iter().map(|c| c.0));
    format!(
        r#"# bash completion for sandbox(1)
# Generated by 'sandbox completions bash' from the option table in src/cli/mod.rs.

_sandbox() {{
    # bash splits 'a:b' and 'a=b' into three words: join them again, so
    # that options and their values are counted right.
    local words=() cword=0 i w
    for ((i = 0; i < ${{#COMP_WORDS[@]}}; i++)); do
        w=${{COMP_WORDS[i]}}
        if ((i > 1)) && [[ $w == [:=] || ${{COMP_WORDS[i-1]}} == [:=] ]]; then
            words[${{#words[@]}}-1]+=$w
        else
            words+=("$w")
        fi
        ((i == COMP_CWORD)) && cword=$((${{#words[@]}} - 1))
    done
    local cur=${{COMP_WORDS[COMP_CWORD]}}
    local prev=${{words[cword-1]}}

    if ((cword == 1)); then
        COMPREPLY=($(compgen -W '{commands} --help --version' -- "$cur"))
        return 0
    fi
    case ${{words[1]}} in
    run) ;;
    completions)
        ((cword == 2)) && COMPREPLY=($(compgen -W 'bash zsh fish' -- "$cur"))
        return 0 ;;
    profile)
        ((cword == 2)) && COMPREPLY=($(compgen -W 'show list' -- "$cur"))
        ((cword == 3)) && [[ ${{words[2]}} == show ]] && COMPREPLY=($(compgen -f -- "$cur"))
        return 0 ;;
    *) return 0 ;;
    esac

    # After ROOTFS comes the command and its arguments: files.
    for ((i = 2; i < cword; i++)); do
        case ${{words[i]}} in
        --) ((i + 1 < cword)) && {{ COMPREPLY=($(compgen -f -- "$cur")); return 0; }}
            break ;;
        {with_value}) ((i++)) ;;
        -?*) ;;
        *) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
        esac
    done

    # An option's value: after it, or after '--opt='.
    local opt=$prev
    if [[ ${{words[cword]}} == --*=* ]]; then
        opt=${{words[cword]%%=*}}
    fi
    case $opt in
{cases}    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W '{all}' -- "$cur"))
    else
        # ROOTFS: a directory.
        COMPREPLY=($(compgen -d -- "$cur"))
    fi
    return 0
}}
complete -o filenames -F _sandbox sandbox
"#,
        with_value = with_value.join("|"),
        all = all.join(" "),
    )
}

/// Quoted for a shell: between single quotes.
fn single_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn zsh() -> String {
    let mut specs = Vec::new();
    for o in RUN_OPTIONS {
        let desc = format!("[{}]", brief(o.help));
        let value = match (o.value, values(o)) {
            (None, _) => String::new(),
            (Some(v), vals) => {
                let message = v.replace(':', "\\:");
                let action = match vals {
                    Values::Free => " ".to_string(),
                    Values::Choices(c) => format!("({})", words(c)),
                    Values::HostPath => "_files".to_string(),
                    Values::Resource => {
                        format!("{{compadd -S \"\" -- {}}}", resource_names().join(" "))
                    }
                };
                format!(":{message}:{action}")
            }
        };
        let eq = if o.takes_value() { "=" } else { "" };
        let star = if o.repeatable { "*" } else { "" };
        let spec = match o.short {
            // '(-v --verbose)'{-v,--verbose}'[...]': the braces expand
            // to one spec for each name, outside the quotes.
            Some(c) => format!(
                "{}{{-{c}{},{}{eq}}}{}",
                single_quoted(&format!("{star}(-{c} {})", o.long)),
                if o.takes_value() { "+" } else { "" },
                o.long,
                single_quoted(&format!("{desc}{value}")),
            ),
            None => single_quoted(&format!("{star}{}{eq}{desc}{value}", o.long)),
        };
        specs.push(spec);
    }
    let commands: Vec<String> = COMMANDS
        .iter()
        .map(|(n, d)| single_quoted(&format!("{n}:{d}")))
        .collect();
    format!(
        r#"#compdef sandbox
# zsh completion for sandbox(1)
# Generated by 'sandbox completions zsh' from the option table in src/cli/mod.rs.

_sandbox() {{
    local -a commands
    commands=({commands})
    if (( CURRENT == 2 )); then
        _describe -t commands 'sandbox command' commands
        _arguments '(-)'{{-h,--help}}'[help]' '(-)'{{-V,--version}}'[version]'
        return
    fi
    case $words[2] in
    run)
        shift words
        (( CURRENT-- ))
        _arguments -S -A '-*' \
            {specs} \
            ':rootfs:_files -/' \
            '*::command and arguments:_files'
        ;;
    completions)
        (( CURRENT == 3 )) && _values shell bash zsh fish
        ;;
    esac
}}

_sandbox "$@"
"#,
        commands = commands.join(" "),
        specs = specs.join(" \\\n            "),
    )
}

fn fish() -> String {
    let mut out = String::from(
        "# fish completion for sandbox(1)\n\
         # Generated by 'sandbox completions fish' from the option table in src/cli/mod.rs.\n\n\
         complete -c sandbox -f\n",
    );
    let top = "__fish_use_subcommand";
    for (n, d) in COMMANDS {
        out.push_str(&format!(
            "complete -c sandbox -n {top} -a {n} -d {}\n",
            single_quoted(d)
        ));
    }
    out.push_str(&format!(
        "complete -c sandbox -n {top} -s h -l help -d 'help'\n\
         complete -c sandbox -n {top} -s V -l version -d 'version'\n\
         complete -c sandbox -n '__fish_seen_subcommand_from completions' -x -a 'bash zsh fish'\n"
    ));
    let run = "'__fish_seen_subcommand_from run'";
    // ROOTFS, then the command and its arguments: paths.
    out.push_str(&format!("complete -c sandbox -n {run} -F\n"));
    for o in RUN_OPTIONS {
        let mut line = format!("complete -c sandbox -n {run}");
        if let Some(c) = o.short {
            line.push_str(&format!(" -s {c}"));
        }
        line.push_str(&format!(" -l {}", &o.long[2..]));
        match values(o) {
            _ if !o.takes_value() => {}
            Values::Free => line.push_str(" -x"),
            Values::Choices(c) => line.push_str(&format!(" -x -a {}", single_quoted(&words(c)))),
            Values::HostPath => line.push_str(" -r -F"),
            Values::Resource => line.push_str(&format!(
                " -x -a {}",
                single_quoted(&resource_names().join(" "))
            )),
        }
        line.push_str(&format!(" -d {}\n", single_quoted(&brief(o.help))));
        out.push_str(&line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_is_in_the_man_page() {
        let m = man_page();
        for o in RUN_OPTIONS {
            let long = format!("\\fB{}\\fR", o.long.replace('-', "\\-"));
            assert!(m.contains(&long), "{} missing", o.long);
            if let Some(c) = o.short {
                assert!(
                    m.contains(&format!("\\fB\\-{c}\\fR, {long}")),
                    "-{c} missing"
                );
            }
            // Its help, in full.
            assert!(m.contains(roff(o.help).trim_end()), "{} help", o.long);
        }
        for g in Group::ALL {
            assert!(m.contains(&format!(".SS {}\n", g.heading())), "{g:?}");
        }
        for (name, _) in COMMANDS {
            assert!(m.contains(&format!(".TP\n\\fB{name}")), "{name}");
        }
        for section in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "EXAMPLES",
            "SEE ALSO",
        ] {
            assert!(m.contains(&format!("\n.SH {section}\n")), "{section}");
        }
        for code in ["124", "125", "126", "127", "128+N"] {
            assert!(m.contains(code), "exit {code}");
        }
        // No line of text starts with a control character by accident.
        for l in m.lines() {
            if let Some(rest) = l.strip_prefix('.') {
                let known = [
                    "TH ", "SH ", "SS ", "TP", "PP", "RS ", "RE", "nf", "fi", "nh", "ad l", "\\\"",
                ];
                assert!(known.iter().any(|k| rest.starts_with(k)), "{l}");
            }
        }
    }

    /// The SYNOPSIS section, one line per usage.
    fn synopsis() -> Vec<String> {
        let m = man_page();
        let start = m.find(".SH SYNOPSIS\n.nf\n").unwrap();
        let end = start + m[start..].find(".fi\n").unwrap();
        m[start..end]
            .lines()
            .skip(2)
            .map(|l| {
                l.replace("\\fB", "")
                    .replace("\\fR", "")
                    .replace("\\-", "-")
            })
            .collect()
    }

    #[test]
    fn the_synopsis_names_every_subcommand_and_its_options() {
        use crate::cli::{parse, SUBCOMMANDS};
        let syn = synopsis();
        // The same subcommands, in the same order, as COMMANDS.
        let names: Vec<&str> = std::iter::once("run")
            .chain(SUBCOMMANDS.iter().map(|s| s.name))
            .collect();
        let listed: Vec<&str> = COMMANDS.iter().map(|c| c.0).collect();
        assert_eq!(names, listed);
        for name in &names {
            let line = syn
                .iter()
                .find(|l| l.starts_with(&format!("sandbox {name}")))
                .unwrap_or_else(|| panic!("sandbox {name} missing: {syn:?}"));
            if *name == "run" {
                assert!(line.contains("[OPTIONS] ROOTFS"), "{line}");
            }
        }
        for s in SUBCOMMANDS {
            let line = syn
                .iter()
                .find(|l| {
                    l.starts_with(&format!("sandbox {} ", s.name))
                        || **l == format!("sandbox {}", s.name)
                })
                .unwrap();
            for o in s.options {
                assert!(
                    line.contains(o.long),
                    "{}: {} missing: {line}",
                    s.name,
                    o.long
                );
                if let Some(c) = o.short {
                    assert!(line.contains(&format!("-{c}|")), "{line}");
                }
                // Listed means accepted: the parser reads its options
                // from the same table.
                for name in
                    std::iter::once(o.long.to_string()).chain(o.short.map(|c| format!("-{c}")))
                {
                    let mut argv = vec![s.name.to_string(), name];
                    argv.extend(o.value.map(|v| {
                        match v {
                            "DIR" => "/x",
                            "KEY=VALUE" => "K=V",
                            _ => "1",
                        }
                        .to_string()
                    }));
                    if s.args.starts_with("NAME") {
                        argv.push("n".into());
                    }
                    let got = parse(argv.iter().map(Into::into).collect());
                    assert!(got.is_ok(), "{argv:?}: {got:?}");
                }
            }
            // Control: an option not in the table is refused.
            if !s.options.is_empty() {
                let argv = [s.name, "--bogus", "n"].iter().map(Into::into).collect();
                assert!(parse(argv).is_err(), "{} --bogus", s.name);
            }
        }
    }

    /// Every variable the sources read with `env::var`/`var_os` (and the
    /// `SANDBOX_*` knobs), sandbox-oci's aside, is in ENVIRONMENT.
    #[test]
    fn the_environment_section_names_every_variable_read() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    if p.file_name().unwrap() != "oci" {
                        walk(&p, out);
                    }
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(p);
                }
            }
        }
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        // The kernel-matrix guest runs these binaries without the source
        // tree; this is a check of the sources, which `make test` on the
        // host makes.
        if !src.is_dir() {
            eprintln!("no source tree at {}: not checked here", src.display());
            return;
        }
        let mut files = Vec::new();
        walk(&src, &mut files);
        let documented: Vec<&str> = MAN_ENV_VARS
            .iter()
            .flat_map(|(n, _)| n.split(", "))
            .collect();
        let mut read = std::collections::BTreeSet::new();
        for f in &files {
            // This file names the patterns themselves; the fuzz runner and
            // its targets are built into tests only.
            let name = f.file_name().unwrap().to_string_lossy();
            if name == "manual.rs" || name.ends_with("fuzz.rs") {
                continue;
            }
            let text = std::fs::read_to_string(f).unwrap();
            // A file's own tests (UPDATE_SECCOMP, say) are not the binary's.
            let text = text.split("\n#[cfg(test)]\nmod tests").next().unwrap();
            for pat in ["var_os(\"", "env::var(\"", "\"SANDBOX_"] {
                for (i, _) in text.match_indices(pat) {
                    // Past the quote: the name (the SANDBOX_ knobs' with
                    // their prefix).
                    let from = i + pat.find('"').unwrap() + 1;
                    let name: String = text[from..]
                        .chars()
                        .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                        .collect();
                    if !name.is_empty() && !name.starts_with("SANDBOX_TEST") {
                        read.insert((name, f.display().to_string()));
                    }
                }
            }
        }
        // The scan finds what it should (control).
        assert!(read.iter().any(|(n, _)| n == "XDG_RUNTIME_DIR"), "{read:?}");
        for (name, file) in &read {
            assert!(
                documented.contains(&name.as_str()),
                "{name} ({file}) is read but not in ENVIRONMENT"
            );
        }
        let m = man_page();
        for name in documented {
            assert!(
                m.contains(&format!("\\fB{name}")) || m.contains(name),
                "{name}"
            );
        }
        // FILES names the state directory and the image cache.
        assert!(m.contains("/tmp/sandbox\\-run\\-UID/"));
        assert!(m.contains("$XDG_CACHE_HOME/sandbox/images/"));
    }

    #[test]
    fn every_option_is_in_every_completion() {
        for shell in Shell::ALL {
            let s = shell.script();
            for o in RUN_OPTIONS {
                let long = match shell {
                    Shell::Fish => format!("-l {}", &o.long[2..]),
                    _ => o.long.to_string(),
                };
                assert!(s.contains(&long), "{}: {} missing", shell.name(), o.long);
                if let Some(c) = o.short {
                    let short = match shell {
                        Shell::Fish => format!("-s {c} "),
                        _ => format!("-{c}"),
                    };
                    assert!(s.contains(&short), "{}: -{c} missing", shell.name());
                }
            }
            for (name, _) in COMMANDS {
                assert!(s.contains(name), "{}: {name}", shell.name());
            }
            for choice in ["on off", "auto require off"] {
                assert!(s.contains(choice), "{}: {choice}", shell.name());
            }
        }
    }

    #[test]
    fn value_kinds() {
        let v = |long: &str| values(crate::cli::find(long).unwrap());
        assert_eq!(v("--seccomp"), Values::Choices(vec!["on", "off"]));
        assert_eq!(
            v("--landlock"),
            Values::Choices(vec!["auto", "require", "off"])
        );
        assert_eq!(v("--bind"), Values::HostPath);
        assert_eq!(v("--ro-bind"), Values::HostPath);
        assert_eq!(v("--status-file"), Values::HostPath);
        assert_eq!(v("--limit"), Values::Resource);
        assert_eq!(v("--chdir"), Values::Free);
        assert_eq!(v("--verbose"), Values::Free);
    }

    #[test]
    fn roff_escapes() {
        assert_eq!(roff("a-b `c` \\"), "a\\-b \\fBc\\fR \\e\n");
        assert_eq!(roff(".x\n'y"), "\\&.x\n\\&'y\n");
        assert_eq!(
            brief("keep the host's `lo` (default: x) up"),
            "keep the host's lo up"
        );
        assert_eq!(brief("set [a]; more"), "set <a>");
        assert_eq!(brief("bind (x), more"), "bind, more");
        let limit = brief(crate::cli::find("--limit").unwrap().help);
        assert_eq!(limit, "set a resource limit for the command");
    }

    #[test]
    fn the_subcommands_parse() {
        use crate::cli::{parse, Cmd};
        let p = |a: &[&str]| parse(a.iter().map(Into::into).collect());
        assert_eq!(p(&["man"]).unwrap(), Cmd::Man);
        for shell in Shell::ALL {
            assert_eq!(
                p(&["completions", shell.name()]).unwrap(),
                Cmd::Completions(shell)
            );
        }
        assert!(matches!(p(&["man", "--help"]).unwrap(), Cmd::Help(_)));
        assert!(matches!(p(&["completions", "-h"]).unwrap(), Cmd::Help(_)));
        for bad in [
            &["man", "x"][..],
            &["completions"],
            &["completions", "tcsh"],
            &["completions", "bash", "zsh"],
        ] {
            assert_eq!(p(bad).unwrap_err().exit, 125, "{bad:?}");
        }
        let top = crate::cli::TOP_HELP;
        for (name, _) in COMMANDS {
            assert!(top.contains(&format!("sandbox {name}")), "{name}");
            assert!(crate::cli::USAGE.contains(name), "{name}");
        }
    }
}
