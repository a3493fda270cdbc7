//! Builds the POSIX command string a runner's shell executes for `crabbox run`.
//!
//! The user's command runs in its own process group (bash job control) so that an
//! interrupt can kill the whole tree on the runner, not only the local `ssh`.

/// Quotes one word for a POSIX shell: `'` becomes `'\''`.
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./-_".contains(&b))
    {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

const SHELL_OPERATORS: [&str; 9] = ["&&", "||", ";", "|", ">", ">>", "<", "2>", "2>>"];

/// True when argv should be interpreted by a remote shell rather than sent as words:
/// a single word with shell syntax, a leading `NAME=value` assignment, or a bare
/// control operator anywhere.
pub fn needs_shell(argv: &[String]) -> bool {
    if argv.len() == 1 {
        return argv[0].chars().any(|c| " \t\r\n&|;<>*$`()".contains(c));
    }
    if argv.len() > 1 && is_assignment(&argv[0]) {
        return true;
    }
    argv.iter()
        .any(|word| SHELL_OPERATORS.contains(&word.as_str()))
}

fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => is_env_name(name),
        None => false,
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// How the user's words become a script for `bash -lc`.
fn shell_script(argv: &[String]) -> String {
    if argv.len() == 1 {
        return argv[0].clone();
    }
    let mut leading_assignments = true;
    argv.iter()
        .map(|word| {
            if SHELL_OPERATORS.contains(&word.as_str()) {
                leading_assignments = true;
                return word.clone();
            }
            if leading_assignments && is_assignment(word) {
                let (name, value) = word.split_once('=').unwrap_or((word, ""));
                return format!("{name}={}", shell_quote(value));
            }
            leading_assignments = false;
            shell_quote(word)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Everything needed to run one user command on a runner.
#[derive(Debug, Clone)]
pub struct RemoteCommand {
    pub workdir: String,
    pub argv: Vec<String>,
    /// Force `bash -lc '<joined words>'`.
    pub shell: bool,
    /// Run through a login shell (`bash -l`), whose profile sets the user's PATH.
    pub login_shell: bool,
    /// Ordered `NAME=value` pairs exported to the command. Their values travel
    /// on the session's stdin ([`RemoteCommand::input`]), never in a command line
    /// that `ps` shows locally or on the runner.
    pub env: Vec<(String, String)>,
    /// Where the runner records the command's process group for cancellation.
    pub pid_file: String,
    /// Shell run before the command, in the workdir.
    pub prologue: Option<String>,
    /// Shell run after the command; `$s` holds its exit status.
    pub epilogue: Option<String>,
}

impl RemoteCommand {
    /// The single string handed to `ssh`.
    pub fn render(&self) -> String {
        let workdir = shell_quote(&self.workdir);
        let bash = if self.login_shell {
            "bash -lc"
        } else {
            "bash -c"
        };
        let inner = if self.shell || needs_shell(&self.argv) {
            let script = if self.shell {
                self.argv.join(" ")
            } else {
                shell_script(&self.argv)
            };
            format!(
                "{bash} {}",
                shell_quote(&format!("cd {workdir} && {script}"))
            )
        } else {
            let words: Vec<String> = self.argv.iter().map(|w| shell_quote(w)).collect();
            format!(
                "{bash} {} bash {}",
                shell_quote(&format!("cd {workdir} && exec \"$@\"")),
                words.join(" ")
            )
        };
        let pid_file = shell_quote(&self.pid_file);
        // The runner's shell reads the exports from stdin with its `read` builtin
        // (byte by byte, so nothing past them is consumed) and evaluates them.
        let env_reader = if self.exports().is_empty() {
            ""
        } else {
            ENV_READER
        };
        // The workdir may not exist yet (for example with --no-sync on a fresh lease).
        let mut directories = workdir.clone();
        if let Some((dir, _)) = self.pid_file.rsplit_once('/') {
            if !dir.is_empty() {
                directories = format!("{} {directories}", shell_quote(dir));
            }
        }
        // Runs directly in the login shell sshd starts (no extra shell layer, whose
        // startup files would cost a second time). The command gets the session's
        // stdin explicitly: a shell without job control would give a background
        // job /dev/null. `set -m` gives the background job
        // its own process group whose id is the recorded pid; `set +m` avoids
        // job-status chatter on stderr.
        let prologue = self
            .prologue
            .as_ref()
            .map(|script| format!("{script}; "))
            .unwrap_or_default();
        let epilogue = self
            .epilogue
            .as_ref()
            .map(|script| format!("{script}; "))
            .unwrap_or_default();
        format!(
            "{env_reader}mkdir -p {directories} && cd {workdir} || exit 1; {prologue}exec 3<&0; set -m; {inner} <&3 3<&- & p=$!; set +m; exec 3<&-; printf %s \"$p\" > {pid_file}; wait \"$p\"; s=$?; rm -f {pid_file}; {epilogue}exit \"$s\""
        )
    }
}

/// Reads `N` then `N` lines of `export NAME='value'` from stdin and evaluates
/// them; a quoted value may span lines, which the count includes.
const ENV_READER: &str = "IFS= read -r n || n=0; e=; while [ \"$n\" -gt 0 ]; do IFS= read -r l; \
e=\"$e$l\n\"; n=$((n-1)); done; eval \"$e\"; unset e l n; ";

impl RemoteCommand {
    /// `export NAME='value'` lines for the forwarded environment.
    fn exports(&self) -> String {
        self.env
            .iter()
            .filter(|(name, _)| is_env_name(name))
            .map(|(name, value)| format!("export {name}={}\n", shell_quote(value)))
            .collect()
    }

    /// What the session must send on stdin before anything else: the number of
    /// export lines, then the lines. Empty when nothing is forwarded.
    pub fn input(&self) -> Vec<u8> {
        let exports = self.exports();
        if exports.is_empty() {
            return Vec::new();
        }
        format!("{}\n{exports}", exports.matches('\n').count()).into_bytes()
    }
}

/// The command that ends a running user command's process group: TERM, a short
/// grace period, then KILL.
pub fn kill_command(pid_file: &str) -> String {
    let pid_file = shell_quote(pid_file);
    format!(
        "p=$(cat {pid_file} 2>/dev/null) || exit 0; [ -n \"$p\" ] || exit 0; \
         kill -TERM -- -\"$p\" 2>/dev/null; i=0; \
         while kill -0 -- -\"$p\" 2>/dev/null && [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done; \
         kill -KILL -- -\"$p\" 2>/dev/null; rm -f {pid_file}; exit 0"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn quoting_table() {
        let cases = [
            ("plain", "plain"),
            ("", "''"),
            ("two words", "'two words'"),
            ("it's", r"'it'\''s'"),
            ("$HOME", "'$HOME'"),
            ("a/b.c-d_e", "a/b.c-d_e"),
            ("new\nline", "'new\nline'"),
        ];
        for (input, expected) in cases {
            assert_eq!(shell_quote(input), expected, "{input:?}");
        }
    }

    #[test]
    fn shell_detection_table() {
        let cases: [(&[&str], bool); 9] = [
            (&["cargo", "test"], false),
            (&["echo hi"], true),
            (&["ls|wc"], true),
            (&["true"], false),
            (&["FOO=1", "env"], true),
            (&["echo", "a", "&&", "echo", "b"], true),
            (&["echo", "a&&b"], false),
            (&["printf", "%s", "$x"], false),
            (&["echo", ">", "file"], true),
        ];
        for (argv, expected) in cases {
            assert_eq!(needs_shell(&words(argv)), expected, "{argv:?}");
        }
    }

    #[test]
    fn assignments_and_operators_become_a_script() {
        let script = shell_script(&words(&["FOO=a b", "env", "&&", "echo", "it's"]));
        assert_eq!(script, r"FOO='a b' env && echo 'it'\''s'");
    }

    #[test]
    fn render_exports_env_and_records_the_process_group() {
        let command = RemoteCommand {
            workdir: "/w/x".into(),
            argv: words(&["echo", "hi there"]),
            shell: false,
            login_shell: true,
            env: vec![("CI".into(), "1".into()), ("bad-name".into(), "x".into())],
            pid_file: "/tmp/p/run_1".into(),
            prologue: None,
            epilogue: None,
        };
        let rendered = command.render();
        assert!(rendered.starts_with("IFS= read -r n || n=0;"), "{rendered}");
        assert!(rendered
            .contains("mkdir -p /tmp/p /w/x && cd /w/x || exit 1; exec 3<&0; set -m; bash -lc "));
        assert!(!rendered.contains("CI=1"));
        assert!(!rendered.contains("bad-name"));
        assert_eq!(command.input(), b"1\nexport CI=1\n");
    }

    #[test]
    fn values_never_reach_the_command_line() {
        let command = RemoteCommand {
            workdir: "/w".into(),
            argv: words(&["true"]),
            shell: false,
            login_shell: false,
            env: vec![("TOKEN".into(), "two\nlines 'quoted'".into())],
            pid_file: "/tmp/p/run_1".into(),
            prologue: None,
            epilogue: None,
        };
        assert!(!command.render().contains("quoted"));
        let input = String::from_utf8(command.input()).unwrap();
        assert!(input.starts_with("2\nexport TOKEN='two\nlines "), "{input}");
        let without = RemoteCommand {
            env: Vec::new(),
            ..command
        };
        assert!(without.input().is_empty());
        assert!(without.render().starts_with("mkdir -p"));
        assert!(without.render().contains(" bash -c "));
        assert!(!without.render().contains("bash -lc"));
    }
}
