//! The benchmark and fault-injection scripts: `--help` and a mistyped argument are answered
//! before anything is built, installed or connected to, and a fault-injection run keeps its
//! databases to itself and drops them when it ends.
//!
//! The scripts run with stand-ins for cargo, the package managers and the Postgres tools
//! first on their PATH: each stand-in writes down that it was called.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a script must not reach while answering `--help` or refusing an argument.
const TOOLS: &[&str] = &[
    "cargo",
    "cargo-fuzz",
    "rustup",
    "rustc",
    "pip",
    "pip3",
    "python3",
    "apt-get",
    "apt",
    "sudo",
    "psql",
    "pg_isready",
    "pg_ctl",
    "initdb",
    "wrk",
    "oha",
    "curl",
];

/// The scripts and how each names itself in its usage.
const SCRIPTS: &[&str] = &[
    "bench/run",
    "bench/chaos.sh",
    "bench/fuzz.sh",
    "bench/fuzz-api.sh",
    "bench/compare.sh",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch folder with a `bin/` of stand-ins, an empty cargo target directory and the log
/// the stand-ins write to; removed when dropped.
struct Sandbox {
    dir: PathBuf,
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Sandbox {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "roundtable-scripts-{name}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::create_dir_all(dir.join("target")).unwrap();
        std::fs::write(dir.join("calls.log"), "").unwrap();
        Self { dir }
    }

    /// A stand-in for `name` on the scripts' PATH: it logs its name and arguments, then runs
    /// `body` (POSIX sh).
    fn stub(&self, name: &str, body: &str) {
        self.executable(&self.dir.join("bin").join(name), name, body);
    }

    fn executable(&self, path: &Path, name: &str, body: &str) {
        let log = self.dir.join("calls.log");
        let script = format!(
            "#!/bin/sh\nprintf '%s\\n' \"{name} $*\" >>'{}'\n{body}\n",
            log.display()
        );
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, script).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Stand-ins for every tool that builds, installs or connects, all failing loudly. psql
    /// answers scripts/dev-db's `select 1`, so that a script that does reach dev-db never
    /// starts a private cluster.
    fn refusing_everything(name: &str) -> Self {
        let sandbox = Self::new(name);
        for tool in TOOLS {
            let body = if *tool == "psql" {
                "case \"$*\" in *'select 1'*) echo 1; exit 0 ;; esac\nexit 97"
            } else {
                "exit 97"
            };
            sandbox.stub(tool, body);
        }
        sandbox
    }

    fn target(&self) -> PathBuf {
        self.dir.join("target")
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(self.dir.join("calls.log")).unwrap()
    }

    fn target_is_empty(&self) -> bool {
        std::fs::read_dir(self.target()).unwrap().next().is_none()
    }

    /// Run a script from the repository with the stand-ins first on PATH. A script stuck for
    /// minutes is killed and the test fails, rather than the suite hanging.
    fn run(&self, script: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let path = format!(
            "{}:{}",
            self.dir.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new(root().join(script));
        cmd.args(args)
            .current_dir(root())
            .env("PATH", path)
            .env("CARGO_TARGET_DIR", self.target())
            // Nothing listens here; the psql stand-in answers for it.
            .env("DATABASE_URL", "postgres://postgres@127.0.0.1:9/postgres")
            .env_remove("ROUNDTABLE_DATABASE__URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            cmd.env(key, value);
        }
        let mut child = cmd.spawn().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let out = std::thread::spawn(move || {
            let mut s = String::new();
            stdout.read_to_string(&mut s).unwrap();
            s
        });
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            stderr.read_to_string(&mut s).unwrap();
            s
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{script} {args:?} was still running after two minutes");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Run {
            code: status.code(),
            stdout: out.join().unwrap(),
            stderr: err.join().unwrap(),
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn every_script_answers_help_without_building_installing_or_connecting() {
    for script in SCRIPTS {
        for args in [&["--help"][..], &["-h"], &["all", "--help"]] {
            let sandbox = Sandbox::refusing_everything("help");
            let run = sandbox.run(script, args, &[]);
            assert_eq!(
                run.code,
                Some(0),
                "{script} {args:?}\nstdout:\n{}\nstderr:\n{}",
                run.stdout,
                run.stderr
            );
            assert!(
                run.stdout.contains(&format!("Usage: {script}")),
                "{script} {args:?} printed no usage:\n{}",
                run.stdout
            );
            assert!(
                run.stdout.contains("Environment:"),
                "{script} {args:?} does not say what it reads from the environment:\n{}",
                run.stdout
            );
            assert_eq!(run.stderr, "", "{script} {args:?}");
            assert_eq!(
                sandbox.calls(),
                "",
                "{script} {args:?} ran tools for --help"
            );
            assert!(
                sandbox.target_is_empty(),
                "{script} {args:?} built something"
            );
        }
    }
}

#[test]
fn every_script_refuses_an_unknown_argument_before_building_anything() {
    let cases: &[(&str, &[&str])] = &[
        ("bench/run", &["--bogus"]),
        ("bench/run", &["queues"]),
        ("bench/run", &["queue", "mail"]),
        ("bench/chaos.sh", &["--bogus"]),
        ("bench/chaos.sh", &["restarts"]),
        ("bench/chaos.sh", &["kill", "term"]),
        ("bench/fuzz.sh", &["--bogus"]),
        ("bench/fuzz.sh", &["token", "no_such_target"]),
        ("bench/fuzz-api.sh", &["--bogus"]),
        ("bench/fuzz-api.sh", &["extra"]),
        ("bench/compare.sh", &["before", "after", "--bogus"]),
        ("bench/compare.sh", &["before", "after", "no-such-scenario"]),
        ("bench/compare.sh", &["only-one"]),
    ];
    for (script, args) in cases {
        let sandbox = Sandbox::refusing_everything("refuse");
        let run = sandbox.run(script, args, &[]);
        assert_eq!(
            run.code,
            Some(2),
            "{script} {args:?}\nstdout:\n{}\nstderr:\n{}",
            run.stdout,
            run.stderr
        );
        assert!(
            run.stderr.contains(&format!("Usage: {script}")),
            "{script} {args:?} did not show its usage on stderr:\n{}",
            run.stderr
        );
        assert_eq!(run.stdout, "", "{script} {args:?}");
        assert_eq!(sandbox.calls(), "", "{script} {args:?} ran tools anyway");
        assert!(
            sandbox.target_is_empty(),
            "{script} {args:?} built something"
        );
    }
}

#[test]
fn fuzz_help_lists_every_fuzz_target() {
    let sandbox = Sandbox::refusing_everything("fuzz-targets");
    let run = sandbox.run("bench/fuzz.sh", &["--help"], &[]);
    let mut targets = 0;
    for entry in std::fs::read_dir(root().join("bench/fuzz/fuzz_targets")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let target = name.strip_suffix(".rs").unwrap();
        targets += 1;
        assert!(
            run.stdout.contains(target),
            "{target} is missing from:\n{}",
            run.stdout
        );
    }
    assert!(targets >= 3);
}

/// The database names a chaos run created and dropped, in the order it asked psql.
fn chaos_databases(calls: &str) -> (Vec<String>, Vec<String>) {
    let name_after = |line: &str, words: &str| -> Option<String> {
        let rest = &line[line.find(words)? + words.len()..];
        Some(rest.split_whitespace().next()?.to_string())
    };
    let mut created = Vec::new();
    let mut dropped = Vec::new();
    for line in calls.lines().filter(|l| l.starts_with("psql ")) {
        // `-c DROP … -c CREATE …` in one call drops a leftover before creating; only a drop
        // after the create counts.
        for command in line.split(" -c ") {
            if let Some(name) = name_after(command, "CREATE DATABASE ") {
                created.push(name);
            } else if let Some(name) = name_after(command, "DROP DATABASE IF EXISTS ") {
                if created.contains(&name) {
                    dropped.push(name);
                }
            }
        }
    }
    (created, dropped)
}

#[test]
fn chaos_runs_use_databases_of_their_own_and_drop_them_even_when_they_fail() {
    let mut names = Vec::new();
    for _ in 0..2 {
        let sandbox = Sandbox::new("chaos");
        let target = sandbox.target();
        // cargo builds nothing but says where its target directory is; psql answers and
        // does nothing; the binaries in that directory fail as a broken migration would.
        sandbox.stub(
            "cargo",
            &format!(
                "if [ \"$1\" = metadata ]; then printf '{{\"target_directory\": \"%s\"}}\\n' '{}'; fi\nexit 0",
                target.display()
            ),
        );
        sandbox.stub(
            "psql",
            "case \"$*\" in *'select 1'*) echo 1 ;; esac\nexit 0",
        );
        for bin in ["roundtable", "roundtable-bench"] {
            sandbox.executable(&target.join("debug").join(bin), bin, "exit 1");
        }
        let run = sandbox.run("bench/chaos.sh", &["kill"], &[("CHAOS_PROFILE", "debug")]);
        let calls = sandbox.calls();
        assert_eq!(
            run.code,
            Some(1),
            "stdout:\n{}\nstderr:\n{}\ncalls:\n{calls}",
            run.stdout,
            run.stderr
        );
        assert!(calls.contains("roundtable migrate"), "{calls}");
        let (created, dropped) = chaos_databases(&calls);
        assert_eq!(created.len(), 1, "{calls}");
        let name = created[0].clone();
        assert!(
            name.starts_with("roundtable_chaos_"),
            "{name} is not a name of the run's own"
        );
        assert!(
            dropped.contains(&name),
            "the failed run left {name} behind:\n{calls}"
        );
        names.push(name);
    }
    assert_ne!(names[0], names[1], "two runs shared a database");
}
