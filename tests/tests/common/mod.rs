//! Harness shared by the black-box tests of a PKCS#11 module.
//!
//! A PKCS#11 module is a process-wide singleton, and its configuration comes from process-wide
//! environment variables, while libtest runs the tests of one binary on several threads. So every
//! scenario is a `#[test]` that, in the parent process, only prepares a fresh token directory and
//! configuration and re-executes the test binary on exactly that one test (`--exact NAME`) with
//! [`CHILD_ENV`] set; the child process loads the module and runs the body. A failing or crashing
//! child fails only its own scenario, and the parent's panic carries the child's output.
//!
//! The module under test is `$ANYHSM_TEST_MODULE`, else `libanyhsm_pkcs11.so` of the profile the
//! tests were built with (`<target>/debug/`). A scenario can be marked as skipped on SoftHSM (the
//! reference implementation the suite is validated against) where SoftHSM deviates from the spec;
//! `ANYHSM_TEST_NO_SKIP=1` runs those scenarios anyway, to see whether the deviation is still there.

#![allow(dead_code, reason = "each test binary uses a different part of the harness")]

pub mod keys;
pub mod raw;

use core::fmt::Write as _;
use core::time::Duration;
use std::env;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::object::{Attribute, AttributeType, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

/// Set in a child process to the name of the scenario it must run.
pub const CHILD_ENV: &str = "ANYHSM_TEST_CHILD";
/// Set in a child process to the resolved path of the module under test.
const MODULE_ENV: &str = "ANYHSM_TEST_MODULE";
/// How long one scenario may run before it is considered hung.
const CHILD_TIMEOUT: Duration = Duration::from_secs(300);

pub const SO_PIN: &str = "so-pin-1234";
pub const USER_PIN: &str = "user-pin-1234";
pub const TOKEN_LABEL: &str = "anyhsm test token";

/// The module under test: `$ANYHSM_TEST_MODULE`, else the debug build next to the test binary.
///
/// # Panics
/// If the module file does not exist, with the command that builds it.
pub fn module_path() -> PathBuf {
    if let Some(path) = env::var_os(MODULE_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "{MODULE_ENV}={} does not name an existing file", path.display());
        return path;
    }
    let file = format!("{}anyhsm_pkcs11{}", env::consts::DLL_PREFIX, env::consts::DLL_SUFFIX);
    // The test binary is <target>/<profile>/deps/<name>-<hash>; the module is <target>/<profile>/.
    let next_to_tests = env::current_exe().ok().and_then(|exe| Some(exe.parent()?.parent()?.join(&file)));
    let workspace_default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug").join(&file);
    let found = match next_to_tests {
        Some(path) if path.is_file() => path,
        _ if workspace_default.is_file() => workspace_default,
        _ => panic!(
            "the PKCS#11 module {} was not found: run `cargo build -p anyhsm-pkcs11` first, \
             or set {MODULE_ENV} to the module to test",
            workspace_default.display()
        ),
    };
    warn_if_stale(&found);
    found
}

/// Warns (once per process) when a source file the module was built from (per cargo's dep-info
/// file beside it) changed after the build: `cargo test` does not rebuild the module.
fn warn_if_stale(module: &Path) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
        let Some(built) = modified(module) else { return };
        let Ok(dep_info) = fs::read_to_string(module.with_extension("d")) else {
            return;
        };
        let stale = dep_info
            .split_once(": ")
            .map(|(_, deps)| deps)
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|dep| Some((dep, modified(Path::new(dep))?)))
            .find(|(_, time)| *time > built);
        if let (Some((dep, _)), None) = (stale, env::var_os(CHILD_ENV)) {
            note(&format!(
                "{} is older than {dep}: run `cargo build -p anyhsm-pkcs11` to test the \
                 current code",
                module.display()
            ));
        }
    });
}

/// Whether the module under test is SoftHSM (whose deviations from the spec some tests skip).
pub fn is_softhsm() -> bool {
    module_path().to_string_lossy().to_ascii_lowercase().contains("softhsm")
}

/// Where a scenario runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Everywhere.
    Never,
    /// Not on SoftHSM, for the reason given (name the deviation or the missing feature).
    OnSoftHsm(&'static str),
}

/// Runs the scenario `name` (which must be the name of the calling `#[test]` function) in a child
/// process with its own token directory; in that child, runs `body`.
///
/// # Panics
/// If the child fails, with its output.
pub fn run(name: &str, skip: Skip, body: impl FnOnce()) {
    match env::var(CHILD_ENV) {
        Ok(child) if child == name => body(),
        Ok(_) => {} // a child runs only its own scenario
        Err(_) => {
            let no_skip = env::var_os("ANYHSM_TEST_NO_SKIP").is_some_and(|v| !v.is_empty());
            if let (Skip::OnSoftHsm(why), true, false) = (skip, is_softhsm(), no_skip) {
                note(&format!("SKIPPED {name} on SoftHSM: {why}"));
                return;
            }
            let dir = TokenDir::new();
            let out = dir.run_child(name, &[], false);
            assert!(
                out.success && out.stdout.contains("test result: ok. 1 passed"),
                "scenario `{name}` failed ({}):\n{}",
                out.status,
                out.transcript()
            );
            println!("{}", out.transcript());
        }
    }
}

/// A helper run by another scenario in a separate process: `body` runs only in that process.
/// Declare it as an `#[ignore]`d `#[test]` so that a normal test run skips it.
pub fn helper(name: &str, body: impl FnOnce()) {
    if env::var(CHILD_ENV).is_ok_and(|child| child == name) {
        body();
    }
}

/// From inside a scenario: runs the helper `name` in a new process that shares this process's
/// token directory and configuration, with `vars` added to its environment. Returns what it
/// printed after `RESULT ` on each line.
///
/// # Panics
/// If the helper fails, with its output.
pub fn run_helper(name: &str, vars: &[(&str, &str)]) -> Vec<String> {
    let out = run_test_process(name, vars, true);
    assert!(
        out.success && out.stdout.contains("test result: ok. 1 passed"),
        "helper process `{name}` failed ({}):\n{}",
        out.status,
        out.transcript()
    );
    // libtest's "test NAME ... " has no newline before the helper's first line.
    out.stdout.lines().filter_map(|line| Some(line.split_once("RESULT ")?.1.to_owned())).collect()
}

/// Writes a note that is shown even though libtest captures the test's output.
pub fn note(msg: &str) {
    // Writing to the handle directly bypasses libtest's capture of `print!`/`eprint!`.
    let _ = writeln!(std::io::stderr(), "note: {msg}");
}

/// A fresh token directory with the configuration files of both anyhsm and SoftHSM.
struct TokenDir {
    dir: tempfile::TempDir,
}

impl TokenDir {
    fn new() -> Self {
        let dir =
            tempfile::Builder::new().prefix("anyhsm-test-").tempdir().expect("create a temporary directory");
        let tokens = dir.path().join("tokens");
        fs::create_dir(&tokens).expect("create the token directory");
        // Fast PIN hashing: these tokens are throw-away.
        fs::write(dir.path().join("anyhsm.toml"), "test_token = true\n").expect("write anyhsm.toml");
        fs::write(
            dir.path().join("softhsm2.conf"),
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .expect("write softhsm2.conf");
        TokenDir { dir }
    }

    fn run_child(&self, name: &str, vars: &[(&str, &str)], ignored: bool) -> ChildOutput {
        let root = self.dir.path();
        let tokens = root.join("tokens");
        let conf = root.join("anyhsm.toml");
        let softhsm_conf = root.join("softhsm2.conf");
        let module = module_path();
        let mut all: Vec<(&str, &str)> = vec![
            ("ANYHSM_TOKEN_DIR", path_str(&tokens)),
            ("ANYHSM_CONF", path_str(&conf)),
            ("SOFTHSM2_CONF", path_str(&softhsm_conf)),
            (MODULE_ENV, path_str(&module)),
        ];
        all.extend_from_slice(vars);
        run_test_process_with(name, &all, ignored, root)
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

struct ChildOutput {
    success: bool,
    status: String,
    stdout: String,
    stderr: String,
}

impl ChildOutput {
    fn transcript(&self) -> String {
        let mut s = String::new();
        let _ = write!(
            s,
            "----- child stdout -----\n{}\n----- child stderr -----\n{}\n------------------------",
            self.stdout.trim_end(),
            self.stderr.trim_end()
        );
        s
    }
}

/// Runs one test of the current binary in a new process that inherits this process's environment.
fn run_test_process(name: &str, vars: &[(&str, &str)], ignored: bool) -> ChildOutput {
    let scratch = tempfile::tempdir().expect("create a temporary directory");
    run_test_process_with(name, vars, ignored, scratch.path())
}

fn run_test_process_with(name: &str, vars: &[(&str, &str)], ignored: bool, scratch: &Path) -> ChildOutput {
    let exe = env::current_exe().expect("the path of the test binary");
    let out_path = scratch.join(format!("{name}.stdout"));
    let err_path = scratch.join(format!("{name}.stderr"));
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", name, "--nocapture", "--test-threads=1"]);
    if ignored {
        cmd.arg("--ignored");
    }
    cmd.env(CHILD_ENV, name)
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).expect("create the child's stdout file"))
        .stderr(fs::File::create(&err_path).expect("create the child's stderr file"));
    let mut child = cmd.spawn().expect("spawn the test binary as a child process");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child process") {
            break Some(status);
        }
        if started.elapsed() > CHILD_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = fs::read_to_string(&err_path).unwrap_or_default();
    match status {
        Some(status) => ChildOutput { success: status.success(), status: status.to_string(), stdout, stderr },
        None => ChildOutput {
            success: false,
            status: format!("killed after {} s: hung", CHILD_TIMEOUT.as_secs()),
            stdout,
            stderr,
        },
    }
}

/// Asserts that a `cryptoki` result is the PKCS#11 error `$rv` (an `RvError` variant).
#[macro_export]
macro_rules! assert_rv {
    ($result:expr, $rv:ident) => {
        match $result {
            Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::$rv, _)) => {}
            other => panic!(
                "{}: expected CKR {}, got {:?}",
                stringify!($result),
                stringify!($rv),
                other.map(|_| "Ok(..)")
            ),
        }
    };
}

/// The loaded and initialised module under test.
#[derive(Debug)]
pub struct Hsm {
    pub ctx: Pkcs11,
}

impl Hsm {
    /// Loads the module (without `C_Initialize`).
    pub fn load_uninitialized() -> Pkcs11 {
        let path = module_path();
        Pkcs11::new(&path).unwrap_or_else(|e| panic!("load {}: {e}", path.display()))
    }

    /// Loads the module and calls `C_Initialize` with OS locking.
    pub fn load() -> Self {
        let ctx = Self::load_uninitialized();
        ctx.initialize(os_locking()).expect("C_Initialize");
        Hsm { ctx }
    }

    /// The last slot whose token is not initialised (the module's "new token" slot).
    pub fn empty_slot(&self) -> Slot {
        let slots = self.ctx.get_all_slots().expect("C_GetSlotList");
        *slots
            .iter()
            .rev()
            .find(|slot| self.ctx.get_token_info(**slot).is_ok_and(|info| !info.token_initialized()))
            .expect("a slot with an uninitialised token")
    }

    /// The slot whose token has this label.
    pub fn slot_by_label(&self, label: &str) -> Option<Slot> {
        self.ctx
            .get_slots_with_token()
            .expect("C_GetSlotList")
            .into_iter()
            .find(|slot| self.ctx.get_token_info(*slot).is_ok_and(|info| info.label() == label))
    }

    /// Initialises a token in the empty slot (SO PIN [`SO_PIN`]) without a user PIN.
    pub fn init_token_only(&self, label: &str) -> Slot {
        let slot = self.empty_slot();
        self.ctx.init_token(slot, &pin(SO_PIN), label).expect("C_InitToken");
        self.slot_by_label(label).expect("the initialised token is listed under its label")
    }

    /// Initialises a token labelled [`TOKEN_LABEL`] with SO PIN [`SO_PIN`] and user PIN
    /// [`USER_PIN`].
    pub fn token(&self) -> Slot {
        self.token_labelled(TOKEN_LABEL)
    }

    /// Like [`Hsm::token`] with another label.
    pub fn token_labelled(&self, label: &str) -> Slot {
        let slot = self.init_token_only(label);
        let session = self.ctx.open_rw_session(slot).expect("C_OpenSession");
        session.login(UserType::So, Some(&pin(SO_PIN))).expect("C_Login(SO)");
        session.init_pin(&pin(USER_PIN)).expect("C_InitPIN");
        session.logout().expect("C_Logout");
        slot
    }

    /// A R/W session with the user logged in.
    pub fn user_session(&self, slot: Slot) -> Session {
        let session = self.ctx.open_rw_session(slot).expect("C_OpenSession(R/W)");
        session.login(UserType::User, Some(&pin(USER_PIN))).expect("C_Login(USER)");
        session
    }

    /// `C_Finalize`, keeping the library loaded for a later `C_Initialize`.
    pub fn finalize(&self) {
        self.ctx.clone().finalize().expect("C_Finalize");
    }

    /// `C_Initialize` again after [`Hsm::finalize`].
    pub fn reinitialize(&self) {
        self.ctx.initialize(os_locking()).expect("C_Initialize");
    }

    /// The raw function list of the same (already loaded) module.
    pub fn raw(&self) -> raw::Raw {
        raw::Raw::load()
    }
}

pub fn os_locking() -> CInitializeArgs {
    CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)
}

pub fn pin(s: &str) -> AuthPin {
    AuthPin::new(s.into())
}

/// Reads one attribute; `None` if the module reports it unavailable.
pub fn attr(session: &Session, object: ObjectHandle, ty: AttributeType) -> Option<Attribute> {
    session.get_attributes(object, &[ty]).unwrap_or_else(|e| panic!("C_GetAttributeValue({ty}): {e}")).pop()
}

/// Reads a byte-string attribute that must be present.
pub fn bytes_attr(session: &Session, object: ObjectHandle, ty: AttributeType) -> Vec<u8> {
    match attr(session, object, ty) {
        Some(
            Attribute::Value(v)
            | Attribute::Label(v)
            | Attribute::Id(v)
            | Attribute::EcPoint(v)
            | Attribute::EcParams(v)
            | Attribute::UniqueId(v)
            | Attribute::Subject(v)
            | Attribute::Application(v),
        ) => v,
        Some(other) => panic!("{ty} is not a byte string: {other:?}"),
        None => panic!("{ty} is unavailable"),
    }
}

/// Reads a boolean attribute that must be present.
pub fn bool_attr(session: &Session, object: ObjectHandle, ty: AttributeType) -> bool {
    match attr(session, object, ty) {
        Some(
            Attribute::Token(b)
            | Attribute::Private(b)
            | Attribute::Modifiable(b)
            | Attribute::Copyable(b)
            | Attribute::Destroyable(b)
            | Attribute::Sensitive(b)
            | Attribute::Extractable(b)
            | Attribute::AlwaysSensitive(b)
            | Attribute::NeverExtractable(b)
            | Attribute::Local(b)
            | Attribute::Sign(b)
            | Attribute::Verify(b)
            | Attribute::Encrypt(b)
            | Attribute::Decrypt(b),
        ) => b,
        Some(other) => panic!("{ty} is not a boolean: {other:?}"),
        None => panic!("{ty} is unavailable"),
    }
}

/// Whether `result` is the PKCS#11 error `rv`.
pub fn is_rv<T>(result: &Result<T, Error>, rv: RvError) -> bool {
    matches!(result, Err(Error::Pkcs11(got, _)) if *got == rv)
}
