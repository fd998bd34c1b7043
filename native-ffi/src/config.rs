//! The module's configuration (DESIGN §7), read once at `C_Initialize`.
//!
//! Zero configuration works: tokens live in `$XDG_DATA_HOME/anyhsm/tokens`, else
//! `$HOME/.local/share/anyhsm/tokens`. `ANYHSM_CONF` names a TOML file:
//!
//! ```toml
//! token_dir = "/var/lib/anyhsm/tokens"  # relative paths are relative to this file
//! log_level = "info"                      # off | error | warn | info | debug | trace
//! deterministic_seed = "00112233…"        # 64 hex digits: turns deterministic mode on
//! test_token = true                       # new tokens use the fast PIN KDF profile
//! backend = "file"                        # file | sqlite
//! umask = "077"                           # octal: token files 0600, directories 0700
//! max_pin_failures = 10                   # failed logins before a PIN locks (new tokens)
//! ```
//!
//! `umask` is applied exactly to every file and directory the store creates (`0666 & !umask`
//! and `0777 & !umask`), whatever the process's own umask; it must leave the owner's bits
//! alone (its first digit is 0), e.g. `"027"` for group-readable tokens.
//!
//! `ANYHSM_TOKEN_DIR` and `ANYHSM_LOG` override `token_dir` and `log_level` for one process.
//! An environment variable set to the empty string counts as unset. Unknown keys and bad
//! values are errors naming the key and the file, never silently ignored. The file is read
//! as a TOML table and checked key by key (rather than through serde's
//! `deny_unknown_fields`) so that every error names its key in words, not only by a
//! source snippet.

use core::fmt;
use std::{
    io,
    path::{Path, PathBuf},
};

use crate::{log::LogLevel, store::Modes};

/// Where tokens are kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// One directory per token under `token_dir` ([`crate::store::FileStore`]).
    #[default]
    File,
    /// One SQLite database per token under `token_dir` ([`crate::store::SqliteStore`]).
    Sqlite,
}

/// The module's settings, after defaults, the file and the environment are combined.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// The directory holding the tokens (created on first use).
    pub token_dir: PathBuf,
    /// How much the module logs to stderr.
    pub log_level: LogLevel,
    /// Deterministic mode (DESIGN §6): the DRBG seed. `None` is the normal, random mode.
    pub deterministic_seed: Option<[u8; 32]>,
    /// New tokens are test tokens, with the fast PIN KDF profile (DESIGN §3).
    pub test_token: bool,
    /// The storage backend.
    pub backend: Backend,
    /// The modes of the files and directories the store creates (from `umask`).
    pub modes: Modes,
    /// Failed logins before a PIN locks, for tokens initialised from now on.
    pub max_pin_failures: u32,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The seed decides every key of a deterministic token: never print it.
        f.debug_struct("Config")
            .field("token_dir", &self.token_dir)
            .field("log_level", &self.log_level)
            .field("deterministic_seed", &self.deterministic_seed.map(|_| "<32 bytes>"))
            .field("test_token", &self.test_token)
            .field("backend", &self.backend)
            .field("umask", &format_args!("{:03o}", self.modes.umask()))
            .field("max_pin_failures", &self.max_pin_failures)
            .finish()
    }
}

/// The environment variable naming the config file.
pub const ENV_CONF: &str = "ANYHSM_CONF";
/// The environment variable overriding `token_dir`.
pub const ENV_TOKEN_DIR: &str = "ANYHSM_TOKEN_DIR";
/// The environment variable overriding `log_level`.
pub const ENV_LOG: &str = "ANYHSM_LOG";

/// The keys a config file may hold.
pub const KEYS: [&str; 7] =
    ["token_dir", "log_level", "deterministic_seed", "test_token", "backend", "umask", "max_pin_failures"];

/// The default of `max_pin_failures`.
pub const DEFAULT_MAX_PIN_FAILURES: u32 = 10;

/// Why the configuration is unusable. Every message names the file, key or variable.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file could not be read.
    Read {
        /// The file `ANYHSM_CONF` names.
        path: PathBuf,
        /// Why not.
        source: io::Error,
    },
    /// The config file is not valid TOML.
    Syntax {
        /// The file.
        path: PathBuf,
        /// The TOML parser's description, with line and column.
        message: String,
    },
    /// The config file holds a key this module does not know.
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// A known key has a value of the wrong type or form.
    BadValue {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// What was expected and what was found.
        message: String,
    },
    /// A valid value for a feature that is not implemented yet (none at the moment).
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// The value.
        value: String,
    },
    /// An environment variable has a bad value.
    BadEnv {
        /// The variable.
        var: &'static str,
        /// Its value (lossy if it was not UTF-8).
        value: String,
        /// What was expected.
        message: String,
    },
    /// No token directory is configured and neither `XDG_DATA_HOME` nor `HOME` is set.
    NoTokenDir,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, source } => {
                write!(f, "cannot read config file {} ({ENV_CONF}): {source}", path.display())
            }
            ConfigError::Syntax { path, message } => {
                write!(f, "config file {} is not valid TOML: {message}", path.display())
            }
            ConfigError::UnknownKey { path, key } => write!(
                f,
                "config file {}: unknown key `{key}` (known keys: {})",
                path.display(),
                KEYS.join(", ")
            ),
            ConfigError::BadValue { path, key, message } => {
                write!(f, "config file {}: key `{key}`: {message}", path.display())
            }
            ConfigError::Unsupported { path, key, value } => {
                write!(f, "config file {}: key `{key}`: {value:?} is not supported yet", path.display())
            }
            ConfigError::BadEnv { var, value, message } => {
                write!(f, "environment variable {var}={value:?}: {message}")
            }
            ConfigError::NoTokenDir => write!(
                f,
                "no token directory: set {ENV_TOKEN_DIR}, token_dir in the {ENV_CONF} file, \
                 XDG_DATA_HOME or HOME"
            ),
        }
    }
}

impl core::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            ConfigError::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// What a config file sets; `None` is "not set".
#[derive(Default)]
struct FileSettings {
    token_dir: Option<PathBuf>,
    log_level: Option<LogLevel>,
    deterministic_seed: Option<[u8; 32]>,
    test_token: Option<bool>,
    backend: Option<Backend>,
    modes: Option<Modes>,
    max_pin_failures: Option<u32>,
}

impl Config {
    /// The configuration of this process: `ANYHSM_CONF`, `ANYHSM_TOKEN_DIR`, `ANYHSM_LOG`,
    /// `XDG_DATA_HOME` and `HOME`, combined by [`Config::from_sources`].
    ///
    /// # Errors
    /// Everything [`Config::from_sources`] refuses, and [`ConfigError::BadEnv`] for a
    /// variable that is not valid UTF-8 (`ANYHSM_CONF` may be any path).
    pub fn from_env() -> Result<Config, ConfigError> {
        let conf = std::env::var_os(ENV_CONF).filter(|v| !v.is_empty());
        let token_dir = env_str(ENV_TOKEN_DIR)?;
        let log = env_str(ENV_LOG)?;
        let xdg = env_str("XDG_DATA_HOME")?;
        let home = env_str("HOME")?;
        Config::from_sources(
            conf.as_deref().map(Path::new),
            token_dir.as_deref(),
            log.as_deref(),
            xdg.as_deref(),
            home.as_deref(),
        )
    }

    /// The configuration from explicit sources (testable [`Config::from_env`]): the config
    /// file, then the values of `ANYHSM_TOKEN_DIR`, `ANYHSM_LOG`, `XDG_DATA_HOME`, `HOME`.
    /// Empty strings count as unset. Precedence: environment over file over defaults.
    ///
    /// # Errors
    /// [`ConfigError::Read`] / [`ConfigError::Syntax`] for a file that cannot be read or
    /// parsed; [`ConfigError::UnknownKey`], [`ConfigError::BadValue`] and
    /// [`ConfigError::Unsupported`] for its contents; [`ConfigError::BadEnv`] for a bad
    /// `ANYHSM_LOG`; [`ConfigError::NoTokenDir`] if no token directory can be found.
    pub fn from_sources(
        conf_file: Option<&Path>,
        token_dir_env: Option<&str>,
        log_env: Option<&str>,
        xdg: Option<&str>,
        home: Option<&str>,
    ) -> Result<Config, ConfigError> {
        let file = match conf_file {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };

        let log_level = match nonempty(log_env) {
            Some(v) => v.parse().map_err(|e: crate::log::UnknownLogLevel| ConfigError::BadEnv {
                var: ENV_LOG,
                value: v.into(),
                message: e.to_string(),
            })?,
            None => file.log_level.unwrap_or_default(),
        };

        let token_dir = match (nonempty(token_dir_env), file.token_dir) {
            (Some(env), _) => PathBuf::from(env),
            (None, Some(dir)) => dir,
            (None, None) => default_token_dir(nonempty(xdg), nonempty(home))?,
        };

        Ok(Config {
            token_dir,
            log_level,
            deterministic_seed: file.deterministic_seed,
            test_token: file.test_token.unwrap_or(false),
            backend: file.backend.unwrap_or_default(),
            modes: file.modes.unwrap_or_default(),
            max_pin_failures: file.max_pin_failures.unwrap_or(DEFAULT_MAX_PIN_FAILURES),
        })
    }
}

/// `None` for an unset or empty value.
fn nonempty(v: Option<&str>) -> Option<&str> {
    v.filter(|s| !s.is_empty())
}

/// `$XDG_DATA_HOME/anyhsm/tokens`, else `$HOME/.local/share/anyhsm/tokens`. The XDG spec
/// says a relative `XDG_DATA_HOME` is to be ignored.
fn default_token_dir(xdg: Option<&str>, home: Option<&str>) -> Result<PathBuf, ConfigError> {
    if let Some(xdg) = xdg.map(Path::new).filter(|p| p.is_absolute()) {
        return Ok(xdg.join("anyhsm").join("tokens"));
    }
    match home {
        Some(home) => Ok(Path::new(home).join(".local/share/anyhsm/tokens")),
        None => Err(ConfigError::NoTokenDir),
    }
}

fn env_str(var: &'static str) -> Result<Option<String>, ConfigError> {
    match std::env::var_os(var) {
        None => Ok(None),
        Some(v) => match v.into_string() {
            Ok(s) => Ok(Some(s).filter(|s| !s.is_empty())),
            Err(v) => Err(ConfigError::BadEnv {
                var,
                value: v.to_string_lossy().into_owned(),
                message: "not valid UTF-8".into(),
            }),
        },
    }
}

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Syntax {
        path: path.into(),
        message: e.to_string().trim_end().into(),
    })?;

    let mut s = FileSettings::default();
    for (key, value) in &table {
        let bad =
            |key: &'static str, message: String| ConfigError::BadValue { path: path.into(), key, message };
        let string = |key: &'static str| match value {
            toml::Value::String(v) => Ok(v.as_str()),
            other => Err(bad(key, format!("expected a string, found {}", other.type_str()))),
        };
        match key.as_str() {
            "token_dir" => {
                let v = string("token_dir")?;
                if v.is_empty() {
                    return Err(bad("token_dir", "expected a directory path, found \"\"".into()));
                }
                // Relative to the file, not to whatever the host's working directory is.
                let dir = path.parent().unwrap_or(Path::new("")).join(v);
                s.token_dir = Some(dir);
            }
            "log_level" => {
                let v = string("log_level")?;
                let level = v
                    .parse()
                    .map_err(|e: crate::log::UnknownLogLevel| bad("log_level", format!("{v:?}: {e}")))?;
                s.log_level = Some(level);
            }
            "deterministic_seed" => {
                let v = string("deterministic_seed")?;
                let seed = parse_seed(v).map_err(|m| bad("deterministic_seed", m))?;
                s.deterministic_seed = Some(seed);
            }
            "test_token" => match value {
                toml::Value::Boolean(b) => s.test_token = Some(*b),
                other => {
                    return Err(bad(
                        "test_token",
                        format!("expected true or false, found {}", other.type_str()),
                    ));
                }
            },
            "backend" => {
                let v = string("backend")?;
                if v.eq_ignore_ascii_case("file") {
                    s.backend = Some(Backend::File);
                } else if v.eq_ignore_ascii_case("sqlite") {
                    s.backend = Some(Backend::Sqlite);
                } else {
                    return Err(bad("backend", format!("{v:?}: expected \"file\" or \"sqlite\"")));
                }
            }
            "max_pin_failures" => match value {
                toml::Value::Integer(n) if (1..=1000).contains(n) => {
                    s.max_pin_failures = u32::try_from(*n).ok();
                }
                toml::Value::Integer(n) => {
                    return Err(bad("max_pin_failures", format!("{n}: expected 1 to 1000")));
                }
                other => {
                    return Err(bad(
                        "max_pin_failures",
                        format!("expected a number, found {}", other.type_str()),
                    ));
                }
            },
            "umask" => {
                let v = string("umask")?;
                s.modes = Some(parse_umask(v).map_err(|m| bad("umask", m))?);
            }
            _ => {
                return Err(ConfigError::UnknownKey { path: path.into(), key: key.clone() });
            }
        }
    }
    Ok(s)
}

/// Three (or four, with a leading 0) octal digits, e.g. `"027"`, into [`Modes`].
fn parse_umask(text: &str) -> Result<Modes, String> {
    let digits_ok = (3..=4).contains(&text.len()) && text.bytes().all(|b| matches!(b, b'0'..=b'7'));
    let value = u32::from_str_radix(text, 8).ok().filter(|_| digits_ok);
    let Some(value) = value else {
        return Err(format!("{text:?}: expected three octal digits such as \"077\" or \"027\""));
    };
    Modes::with_umask(value).map_err(|e| format!("{text:?}: {e}"))
}

/// 64 hex digits, either case, into 32 bytes.
fn parse_seed(text: &str) -> Result<[u8; 32], String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() != 64 {
        return Err(format!("expected 64 hex digits (32 bytes), found {} characters", chars.len()));
    }
    let nibble = |i: usize| -> Result<u8, String> {
        chars[i]
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
            .ok_or_else(|| format!("expected 64 hex digits, found {:?} at position {}", chars[i], i + 1))
    };
    let mut seed = [0u8; 32];
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte = (nibble(2 * i)? << 4) | nibble(2 * i + 1)?;
    }
    Ok(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F";

    fn seed() -> [u8; 32] {
        core::array::from_fn(|i| u8::try_from(i).unwrap())
    }

    /// A config file with `text` in a fresh directory (kept alive by the returned guard).
    fn conf(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("anyhsm.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn from_file(text: &str) -> (PathBuf, Result<Config, ConfigError>) {
        let (_dir, path) = conf(text);
        let r = Config::from_sources(Some(&path), None, None, None, Some("/home/u"));
        (path, r)
    }

    fn file_error(text: &str) -> (PathBuf, ConfigError, String) {
        let (path, r) = from_file(text);
        let e = r.unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg} names the file");
        (path, e, msg)
    }

    #[test]
    fn zero_config_uses_xdg_data_home() {
        let c = Config::from_sources(None, None, None, Some("/x/data"), Some("/home/u")).unwrap();
        assert_eq!(
            c,
            Config {
                token_dir: "/x/data/anyhsm/tokens".into(),
                log_level: LogLevel::Warn,
                deterministic_seed: None,
                test_token: false,
                backend: Backend::File,
                modes: Modes::default(),
                max_pin_failures: DEFAULT_MAX_PIN_FAILURES,
            }
        );
    }

    #[test]
    fn zero_config_falls_back_to_home() {
        let want = PathBuf::from("/home/u/.local/share/anyhsm/tokens");
        for xdg in [None, Some(""), Some("relative/data")] {
            let c = Config::from_sources(None, None, None, xdg, Some("/home/u")).unwrap();
            assert_eq!(c.token_dir, want, "XDG_DATA_HOME={xdg:?}");
        }
    }

    #[test]
    fn no_home_and_no_dir_is_an_error() {
        for home in [None, Some("")] {
            let e = Config::from_sources(None, None, None, None, home).unwrap_err();
            assert!(matches!(e, ConfigError::NoTokenDir));
            assert!(e.to_string().contains(ENV_TOKEN_DIR));
        }
        // ... but only when a directory is needed.
        let c = Config::from_sources(None, Some("/t"), None, None, None).unwrap();
        assert_eq!(c.token_dir, PathBuf::from("/t"));
        let (_d, path) = conf("token_dir = \"/f\"");
        let c = Config::from_sources(Some(&path), None, None, None, None).unwrap();
        assert_eq!(c.token_dir, PathBuf::from("/f"));
    }

    #[test]
    fn every_key_in_a_file() {
        let (_d, path) = conf(&format!(
            "token_dir = \"/srv/tokens\"\nlog_level = \"debug\"\n\
             deterministic_seed = \"{SEED_HEX}\"\ntest_token = true\nbackend = \"sqlite\"\n\
             umask = \"027\"\nmax_pin_failures = 3\n"
        ));
        let c = Config::from_sources(Some(&path), None, None, Some("/x"), Some("/h")).unwrap();
        assert_eq!(
            c,
            Config {
                token_dir: "/srv/tokens".into(),
                log_level: LogLevel::Debug,
                deterministic_seed: Some(seed()),
                test_token: true,
                backend: Backend::Sqlite,
                modes: Modes::with_umask(0o027).unwrap(),
                max_pin_failures: 3,
            }
        );
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let (_d, path) = conf("# nothing\n");
        let c = Config::from_sources(Some(&path), None, None, Some("/x"), None).unwrap();
        let d = Config::from_sources(None, None, None, Some("/x"), None).unwrap();
        assert_eq!(c, d);
    }

    #[test]
    fn relative_token_dir_is_relative_to_the_file() {
        let (dir, path) = conf("token_dir = \"tokens\"");
        let c = Config::from_sources(Some(&path), None, None, None, None).unwrap();
        assert_eq!(c.token_dir, dir.path().join("tokens"));
    }

    #[test]
    fn environment_overrides_the_file() {
        let (_d, path) = conf("token_dir = \"/f\"\nlog_level = \"error\"");
        let c = Config::from_sources(Some(&path), Some("/e"), Some("trace"), None, None).unwrap();
        assert_eq!(c.token_dir, PathBuf::from("/e"));
        assert_eq!(c.log_level, LogLevel::Trace);
        // Empty variables count as unset.
        let c = Config::from_sources(Some(&path), Some(""), Some(""), None, None).unwrap();
        assert_eq!(c.token_dir, PathBuf::from("/f"));
        assert_eq!(c.log_level, LogLevel::Error);
    }

    #[test]
    fn env_log_level_in_any_case() {
        let c = Config::from_sources(None, Some("/t"), Some("INFO"), None, None).unwrap();
        assert_eq!(c.log_level, LogLevel::Info);
        let c = Config::from_sources(None, Some("/t"), Some("off"), None, None).unwrap();
        assert_eq!(c.log_level, LogLevel::Off);
    }

    #[test]
    fn bad_env_log_level_names_the_variable() {
        let e = Config::from_sources(None, Some("/t"), Some("loud"), None, None).unwrap_err();
        assert!(matches!(e, ConfigError::BadEnv { var: ENV_LOG, .. }), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains("ANYHSM_LOG") && msg.contains("loud") && msg.contains("warn"), "{msg}");
    }

    #[test]
    fn missing_file_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.toml");
        let e = Config::from_sources(Some(&path), None, None, None, Some("/h")).unwrap_err();
        assert!(matches!(&e, ConfigError::Read { path: p, .. } if *p == path), "{e:?}");
        assert!(core::error::Error::source(&e).is_some());
        let msg = e.to_string();
        assert!(msg.contains(&path.display().to_string()) && msg.contains(ENV_CONF), "{msg}");
    }

    #[test]
    fn syntax_error_names_the_file() {
        let (_p, e, msg) = file_error("token_dir = \"/x\"\nlog_level = \n");
        assert!(matches!(e, ConfigError::Syntax { .. }), "{e:?}");
        assert!(msg.contains("line 2"), "{msg}");
        let (_p, e, _) = file_error("backend = \"file\"\nbackend = \"file\"\n");
        assert!(matches!(e, ConfigError::Syntax { .. }), "duplicate key: {e:?}");
    }

    #[test]
    fn unknown_key_is_named() {
        let (_p, e, msg) = file_error("token_dir = \"/x\"\ntoken_directory = \"/y\"\n");
        assert!(matches!(&e, ConfigError::UnknownKey { key, .. } if key == "token_directory"));
        assert!(msg.contains("`token_directory`") && msg.contains("token_dir,"), "{msg}");
        let (_p, e, _) = file_error("[store]\ndir = \"/x\"\n");
        assert!(matches!(&e, ConfigError::UnknownKey { key, .. } if key == "store"));
    }

    fn assert_bad_value(text: &str, want_key: &str, want_in_message: &str) {
        let (_p, e, msg) = file_error(text);
        assert!(matches!(&e, ConfigError::BadValue { key, .. } if *key == want_key), "{text}: {e:?}");
        assert!(msg.contains(&format!("`{want_key}`")), "{msg}");
        assert!(msg.contains(want_in_message), "{msg} should contain {want_in_message}");
    }

    #[test]
    fn wrong_types_are_named() {
        assert_bad_value("token_dir = 5", "token_dir", "expected a string, found integer");
        assert_bad_value("log_level = true", "log_level", "expected a string, found boolean");
        assert_bad_value("deterministic_seed = [1, 2]", "deterministic_seed", "found array");
        assert_bad_value("test_token = \"yes\"", "test_token", "expected true or false, found string");
        assert_bad_value("test_token = 1", "test_token", "found integer");
        assert_bad_value("backend = { kind = \"file\" }", "backend", "found table");
    }

    #[test]
    fn bad_values_are_named() {
        assert_bad_value("token_dir = \"\"", "token_dir", "expected a directory path");
        assert_bad_value("log_level = \"loud\"", "log_level", "\"loud\": expected one of");
        assert_bad_value("backend = \"mysql\"", "backend", "expected \"file\" or \"sqlite\"");
    }

    #[test]
    fn seed_must_be_64_hex_digits() {
        let short = &SEED_HEX[..62];
        assert_bad_value(
            &format!("deterministic_seed = \"{short}\""),
            "deterministic_seed",
            "found 62 characters",
        );
        let long = format!("{SEED_HEX}00");
        assert_bad_value(
            &format!("deterministic_seed = \"{long}\""),
            "deterministic_seed",
            "found 66 characters",
        );
        let bad = format!("{}zz", &SEED_HEX[..62]);
        assert_bad_value(
            &format!("deterministic_seed = \"{bad}\""),
            "deterministic_seed",
            "'z' at position 63",
        );
        // A multi-byte character is not a digit (and is counted as one character).
        let uni = format!("{}é", &SEED_HEX[..62]);
        assert_bad_value(
            &format!("deterministic_seed = \"{uni}\""),
            "deterministic_seed",
            "found 63 characters",
        );
        let uni = format!("{}é", &SEED_HEX[..63]);
        assert_bad_value(
            &format!("deterministic_seed = \"{uni}\""),
            "deterministic_seed",
            "'é' at position 64",
        );
        assert_eq!(parse_seed(&SEED_HEX.to_uppercase()), Ok(seed()));
        assert_eq!(parse_seed(&"f".repeat(64)), Ok([0xff; 32]));
    }

    #[test]
    fn backends_in_any_case() {
        let (_p, c) = from_file("backend = \"sqlite\"");
        assert_eq!(c.unwrap().backend, Backend::Sqlite);
        let (_p, c) = from_file("backend = \"SQLite\"");
        assert_eq!(c.unwrap().backend, Backend::Sqlite);
        let (_p, c) = from_file("backend = \"File\"");
        assert_eq!(c.unwrap().backend, Backend::File);
    }

    #[test]
    fn umask_is_three_octal_digits_keeping_the_owner() {
        let (_p, c) = from_file("umask = \"022\"");
        assert_eq!(c.unwrap().modes, Modes::with_umask(0o022).unwrap());
        let (_p, c) = from_file("umask = \"0077\"");
        assert_eq!(c.unwrap().modes, Modes::default());
        assert_bad_value("umask = 27", "umask", "expected a string, found integer");
        assert_bad_value("umask = \"27\"", "umask", "expected three octal digits");
        assert_bad_value("umask = \"089\"", "umask", "expected three octal digits");
        assert_bad_value("umask = \"0o27\"", "umask", "expected three octal digits");
        assert_bad_value("umask = \"277\"", "umask", "would deny the owner");
        assert_bad_value("umask = \"1077\"", "umask", "not a umask");
    }

    #[test]
    fn max_pin_failures_is_a_small_positive_number() {
        let (_p, c) = from_file("max_pin_failures = 5");
        assert_eq!(c.unwrap().max_pin_failures, 5);
        assert_bad_value("max_pin_failures = 0", "max_pin_failures", "0: expected 1 to 1000");
        assert_bad_value("max_pin_failures = -1", "max_pin_failures", "expected 1 to 1000");
        assert_bad_value("max_pin_failures = \"5\"", "max_pin_failures", "expected a number, found string");
    }

    #[test]
    fn debug_hides_the_seed() {
        let (_d, path) = conf(&format!("deterministic_seed = \"{SEED_HEX}\""));
        let c = Config::from_sources(Some(&path), None, None, None, Some("/h")).unwrap();
        let dbg = format!("{c:?}");
        assert!(dbg.contains("<32 bytes>") && !dbg.contains("0, 1, 2"), "{dbg}");
    }
}
