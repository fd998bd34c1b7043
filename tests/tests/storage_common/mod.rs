//! Harness of the storage tests (multi-process, crash, fork, lockout, damage): every scenario
//! runs once per storage backend, each time in a fresh child process (a PKCS#11 module is a
//! process-wide singleton) with its own token directory and an `ANYHSM_CONF` selecting the
//! backend; a scenario can start further processes of the same test binary in a *role*
//! (a worker, a creator to be killed, a second client) on the same token directory.
//!
//! These tests are about anyhsm's stores: against another module (`ANYHSM_TEST_MODULE`
//! naming SoftHSM, as `scripts/test-all.sh` does for the reference run) they are skipped.

#![allow(dead_code, reason = "each test binary uses a different part of the harness")]

use core::time::Duration;
use std::env;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Instant;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use sha2::{Digest as _, Sha256};

/// The scenario a child process runs (set by [`each_backend`]).
const SCENARIO_ENV: &str = "ANYHSM_STORAGE_SCENARIO";
/// The role a helper process plays, and its argument (set by [`spawn_role`]).
const ROLE_ENV: &str = "ANYHSM_STORAGE_ROLE";
const ARG_ENV: &str = "ANYHSM_STORAGE_ARG";
/// The backend of the current scenario: `file` or `sqlite`.
pub const BACKEND_ENV: &str = "ANYHSM_STORAGE_BACKEND";
const MODULE_ENV: &str = "ANYHSM_TEST_MODULE";
/// How long one scenario (for one backend) may run.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(240);

pub const SO_PIN: &str = "so-pin-1234";
pub const USER_PIN: &str = "user-pin-1234";
pub const LABEL: &str = "storage test";

/// The two backends every scenario runs on.
pub const BACKENDS: [&str; 2] = ["file", "sqlite"];

/// The module under test: `$ANYHSM_TEST_MODULE`, else the debug build next to the tests.
pub fn module_path() -> PathBuf {
    if let Some(path) = env::var_os(MODULE_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let file = format!("{}anyhsm_pkcs11{}", env::consts::DLL_PREFIX, env::consts::DLL_SUFFIX);
    let next_to_tests = env::current_exe().ok().and_then(|exe| Some(exe.parent()?.parent()?.join(&file)));
    match next_to_tests {
        Some(path) if path.is_file() => path,
        _ => {
            let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug").join(&file);
            assert!(p.is_file(), "{} not found: run `cargo build -p anyhsm-pkcs11` first", p.display());
            p
        }
    }
}

/// Writes a line that libtest does not capture.
pub fn note(msg: &str) {
    let _ = writeln!(std::io::stderr(), "note: {msg}");
}

/// The backend of the running scenario.
pub fn backend() -> String {
    env::var(BACKEND_ENV).unwrap_or_else(|_| "file".into())
}

/// The token directory of the running scenario.
pub fn token_dir() -> PathBuf {
    PathBuf::from(env::var_os("ANYHSM_TOKEN_DIR").expect("ANYHSM_TOKEN_DIR is set for scenarios"))
}

/// The scratch directory of the running scenario (holds the config; a place for signals).
pub fn scratch_dir() -> PathBuf {
    token_dir().parent().expect("the token directory has a parent").to_path_buf()
}

/// A scenario: runs in its own process, once per backend.
pub type Scenario = fn();
/// A role: runs in a helper process a scenario started, with the argument it was given.
pub type Role = fn(&str);

/// Entry point of a storage test binary's one `#[test]` (named `test_name`).
///
/// In the test process: runs every scenario of `scenarios` once per backend, each in a
/// child process, and fails with the child's output if one fails. In a child: runs the
/// scenario it was started for, or the role (`roles`: name → function of the argument).
pub fn main(test_name: &str, scenarios: &[(&str, Scenario)], roles: &[(&str, Role)]) {
    if let Ok(role) = env::var(ROLE_ENV) {
        let arg = env::var(ARG_ENV).unwrap_or_default();
        let f = roles.iter().find(|(n, _)| *n == role).unwrap_or_else(|| panic!("unknown role {role}")).1;
        f(&arg);
        return;
    }
    if let Ok(scenario) = env::var(SCENARIO_ENV) {
        let f = scenarios
            .iter()
            .find(|(n, _)| *n == scenario)
            .unwrap_or_else(|| panic!("unknown scenario {scenario}"))
            .1;
        f();
        return;
    }
    if !module_path().file_name().is_some_and(|f| f.to_string_lossy().contains("anyhsm")) {
        note(&format!("SKIPPED {test_name}: these tests exercise anyhsm's storage backends"));
        return;
    }
    let mut failures = Vec::new();
    for (scenario, _) in scenarios {
        for backend in BACKENDS {
            let started = Instant::now();
            match run_scenario(test_name, scenario, backend) {
                Ok(()) => {
                    note(&format!("{scenario} [{backend}]: ok in {:.1} s", started.elapsed().as_secs_f64()))
                }
                Err(transcript) => {
                    note(&format!("{scenario} [{backend}]: FAILED"));
                    failures.push(format!("==== {scenario} [{backend}] ====\n{transcript}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} scenario run(s) failed:\n{}", failures.len(), failures.join("\n"));
}

/// Writes `anyhsm.toml` for `backend` in `scratch` (with extra lines) and returns the token
/// directory beside it.
pub fn prepare_dir(scratch: &Path, backend: &str, extra: &str) -> PathBuf {
    let tokens = scratch.join("tokens");
    fs::create_dir_all(&tokens).expect("create the token directory");
    fs::write(scratch.join("anyhsm.toml"), format!("test_token = true\nbackend = \"{backend}\"\n{extra}"))
        .expect("write anyhsm.toml");
    tokens
}

fn run_scenario(test_name: &str, scenario: &str, backend: &str) -> Result<(), String> {
    let dir = tempfile::Builder::new().prefix("anyhsm-storage-").tempdir().expect("a temporary directory");
    let tokens = prepare_dir(dir.path(), backend, "");
    let mut cmd = test_command(test_name);
    cmd.env(SCENARIO_ENV, scenario)
        .env(BACKEND_ENV, backend)
        .env("ANYHSM_CONF", dir.path().join("anyhsm.toml"))
        .env("ANYHSM_TOKEN_DIR", &tokens)
        .env(MODULE_ENV, module_path())
        .env_remove(ROLE_ENV);
    let out = run_with_timeout(cmd, SCENARIO_TIMEOUT);
    let transcript = format!(
        "status: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout).trim_end(),
        String::from_utf8_lossy(&out.stderr).trim_end()
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.success() && stdout.contains("1 passed") {
        // What the scenario printed (figures), without libtest's lines.
        // (libtest prints "test NAME ... " without a newline before the first line.)
        let lines = stdout.lines().map(|l| l.split_once(" ... ").map_or(l, |(_, rest)| rest));
        for line in lines.filter_map(|l| l.strip_prefix("| ")) {
            note(&format!("  [{backend}] {line}"));
        }
        for line in String::from_utf8_lossy(&out.stderr).lines().filter_map(|l| l.strip_prefix("note: ")) {
            note(&format!("  [{backend}] {line}"));
        }
        Ok(())
    } else {
        Err(transcript)
    }
}

/// The current test binary, set to run only its one test, uncaptured.
fn test_command(test_name: &str) -> Command {
    let exe = env::current_exe().expect("the path of the test binary");
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", test_name, "--nocapture", "--test-threads=1"]).stdin(Stdio::null());
    cmd
}

fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn a child process");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(timeout) {
        Ok(out) => out.expect("wait for the child"),
        Err(_) => {
            // Hung: kill it by its pid (the waiting thread then returns its output).
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            let mut out = rx.recv().expect("the child's output").expect("wait for the child");
            out.stderr
                .extend_from_slice(format!("\n[killed after {} s: hung]", timeout.as_secs()).as_bytes());
            out
        }
    }
}

/// Starts a helper process playing `role` with `arg`, in this scenario's environment, with
/// its stdout piped (roles report with [`report`]) and its stderr inherited.
pub fn spawn_role(role: &str, arg: &str) -> Child {
    let test_name =
        env::args().skip_while(|a| a != "--exact").nth(1).expect("scenarios run with --exact NAME");
    let mut cmd = test_command(&test_name);
    cmd.env(ROLE_ENV, role).env(ARG_ENV, arg).env_remove(SCENARIO_ENV).stdout(Stdio::piped());
    cmd.spawn().unwrap_or_else(|e| panic!("spawn role {role}: {e}"))
}

/// Runs a role to completion with extra environment variables, capturing its stderr (the
/// module's log); returns whether it passed, its reports and its stderr.
pub fn run_role_with(role: &str, arg: &str, vars: &[(&str, &Path)]) -> (bool, Vec<String>, String) {
    let test_name =
        env::args().skip_while(|a| a != "--exact").nth(1).expect("scenarios run with --exact NAME");
    let mut cmd = test_command(&test_name);
    cmd.env(ROLE_ENV, role).env(ARG_ENV, arg).env_remove(SCENARIO_ENV);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = run_with_timeout(cmd, SCENARIO_TIMEOUT);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success() && stdout.contains("1 passed"), reports(&stdout), stderr)
}

/// Runs a role to completion and returns its reports; panics with its output if it fails.
pub fn run_role(role: &str, arg: &str) -> Vec<String> {
    let child = spawn_role(role, arg);
    let out = child.wait_with_output().expect("wait for a role");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "role {role}({arg}) failed ({}):\n{stdout}",
        out.status
    );
    reports(&stdout)
}

/// The lines a role reported, from its stdout.
pub fn reports(stdout: &str) -> Vec<String> {
    stdout.lines().filter_map(|l| Some(l.split_once("REPORT ")?.1.to_owned())).collect()
}

/// From a role: one line for the scenario, flushed at once (it may be killed any moment).
pub fn report(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "REPORT {line}");
    let _ = out.flush();
}

/// Waits until `path` exists (a signal between processes), at most `timeout`.
pub fn wait_for(path: &Path, timeout: Duration) {
    let started = Instant::now();
    while !path.exists() {
        assert!(started.elapsed() < timeout, "timed out waiting for {}", path.display());
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Creates the file `path` (a signal to other processes).
pub fn signal(path: &Path) {
    fs::write(path, b"").unwrap_or_else(|e| panic!("signal {}: {e}", path.display()));
}

/// The module, loaded and initialised with OS locking.
pub fn load() -> Pkcs11 {
    let ctx = Pkcs11::new(module_path()).expect("load the module");
    ctx.initialize(os_locking()).expect("C_Initialize");
    ctx
}

pub fn os_locking() -> CInitializeArgs {
    CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)
}

pub fn pin(s: &str) -> AuthPin {
    AuthPin::new(s.into())
}

/// The slot whose token has this label.
pub fn slot_by_label(ctx: &Pkcs11, label: &str) -> Option<Slot> {
    ctx.get_slots_with_token()
        .expect("C_GetSlotList")
        .into_iter()
        .find(|s| ctx.get_token_info(*s).is_ok_and(|i| i.label() == label))
}

/// A new token labelled `label` (SO PIN and user PIN set) in the empty slot.
pub fn init_token(ctx: &Pkcs11, label: &str) -> Slot {
    let slots = ctx.get_all_slots().expect("C_GetSlotList");
    let empty = *slots
        .iter()
        .rev()
        .find(|s| ctx.get_token_info(**s).is_ok_and(|i| !i.token_initialized()))
        .expect("an empty slot");
    ctx.init_token(empty, &pin(SO_PIN), label).expect("C_InitToken");
    let slot = slot_by_label(ctx, label).expect("the new token is listed");
    let s = ctx.open_rw_session(slot).expect("C_OpenSession");
    s.login(UserType::So, Some(&pin(SO_PIN))).expect("C_Login(SO)");
    s.init_pin(&pin(USER_PIN)).expect("C_InitPIN");
    s.logout().expect("C_Logout");
    slot
}

/// A public token data object with this label (and the label as its value).
pub fn create_data(session: &Session, label: &str) -> cryptoki::error::Result<ObjectHandle> {
    session.create_object(&[
        Attribute::Class(ObjectClass::DATA),
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Value(label.as_bytes().to_vec()),
    ])
}

/// The labels of every data object the session sees, sorted, each checked against its value.
pub fn data_labels(session: &Session) -> Vec<String> {
    let found = session.find_objects(&[Attribute::Class(ObjectClass::DATA)]).expect("C_FindObjects");
    let mut labels: Vec<String> = found
        .into_iter()
        .map(|h| {
            let attrs = session
                .get_attributes(h, &[AttributeType::Label, AttributeType::Value])
                .expect("C_GetAttributeValue");
            let (label, value) = match attrs.as_slice() {
                [Attribute::Label(l), Attribute::Value(v)] => (l.clone(), v.clone()),
                other => panic!("unexpected attributes {other:?}"),
            };
            assert_eq!(label, value, "an object's value is its label");
            String::from_utf8(label).expect("UTF-8 labels")
        })
        .collect();
    labels.sort();
    labels
}

/// A small deterministic PRNG (xorshift64*), seeded from the clock unless
/// `ANYHSM_STORAGE_SEED` is set; the seed is printed so a failure can be replayed.
#[derive(Debug)]
pub struct Rand(u64);

impl Rand {
    pub fn new() -> Rand {
        let seed = env::var("ANYHSM_STORAGE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| u64::try_from(d.as_nanos() % (1 << 64)).unwrap_or(1))
        });
        note(&format!("random seed {seed} (replay with ANYHSM_STORAGE_SEED={seed})"));
        Rand(seed | 1)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// The stores' integrity check of a record (`record_check` in native-ffi/src/store/mod.rs),
/// recomputed here so that a test can alter a record and keep the check valid: a flipped
/// byte then gets past the store and reaches the seal, a newer format version reaches the
/// version check.
pub fn record_check(serial: &str, id: u64, blob: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"anyhsm record v1\0");
    h.update(serial.as_bytes());
    h.update([0]);
    h.update(id.to_le_bytes());
    h.update(blob);
    h.finalize()[..16].to_vec()
}
