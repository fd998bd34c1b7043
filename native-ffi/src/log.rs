//! The module's logger: one line per message on stderr, `anyhsm[<pid>]: LEVEL message`.
//!
//! A PKCS#11 module lives inside someone else's process, so it must not pull in a logging
//! framework that might clash with the host's; this is all it needs. The level is a process
//! global set once from the configuration ([`set_level`]); messages above it cost one
//! atomic load.
//!
//! **Rule: never log secret bytes.** The logger formats exactly what it is given, so a
//! caller must never pass a PIN, a key, a plaintext or a blob that may hold one (not even in
//! hex, not even at `trace`). Log names, handles, sizes, mechanism numbers and `CKR_*` codes.

use core::{
    fmt,
    str::FromStr,
    sync::atomic::{AtomicU8, Ordering},
};
use std::io::{self, Write};

/// How much the module says. Each level includes the ones before it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum LogLevel {
    /// Nothing at all.
    Off = 0,
    /// Failures the caller will see as an error code.
    Error = 1,
    /// Things an operator should know about (deterministic mode, skipped damaged records).
    #[default]
    Warn = 2,
    /// Lifecycle: initialisation, tokens found, configuration used.
    Info = 3,
    /// Per-call detail for debugging a client.
    Debug = 4,
    /// Everything.
    Trace = 5,
}

impl LogLevel {
    /// Every level, quietest first.
    pub const ALL: [LogLevel; 6] =
        [LogLevel::Off, LogLevel::Error, LogLevel::Warn, LogLevel::Info, LogLevel::Debug, LogLevel::Trace];

    /// The name used in configuration (`"warn"`).
    pub const fn name(self) -> &'static str {
        match self {
            LogLevel::Off => "off",
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }

    /// The tag printed in a log line (`"WARN"`).
    const fn tag(self) -> &'static str {
        match self {
            LogLevel::Off => "OFF",
            LogLevel::Error => "ERROR",
            LogLevel::Warn => "WARN",
            LogLevel::Info => "INFO",
            LogLevel::Debug => "DEBUG",
            LogLevel::Trace => "TRACE",
        }
    }

    const fn from_u8(v: u8) -> LogLevel {
        match v {
            0 => LogLevel::Off,
            1 => LogLevel::Error,
            2 => LogLevel::Warn,
            3 => LogLevel::Info,
            4 => LogLevel::Debug,
            _ => LogLevel::Trace,
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing a [`LogLevel`]: the text was not one of the level names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownLogLevel;

impl fmt::Display for UnknownLogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expected one of \"off\", \"error\", \"warn\", \"info\", \"debug\", \"trace\"")
    }
}

impl core::error::Error for UnknownLogLevel {}

impl FromStr for LogLevel {
    type Err = UnknownLogLevel;

    /// A level name, in any letter case (`"warn"`, `"WARN"`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LogLevel::ALL.into_iter().find(|l| l.name().eq_ignore_ascii_case(s)).ok_or(UnknownLogLevel)
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(LogLevel::Warn as u8);

/// Set the process-wide level (from the configuration, at `C_Initialize`).
pub fn set_level(level: LogLevel) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// The process-wide level now.
pub fn level() -> LogLevel {
    LogLevel::from_u8(LEVEL.load(Ordering::Relaxed))
}

/// True if a message at `level` would be written (to skip building expensive ones).
pub fn enabled(level: LogLevel) -> bool {
    level != LogLevel::Off && level <= self::level()
}

/// Log a failure: `log::error(format_args!("..."))`.
pub fn error(args: fmt::Arguments<'_>) {
    emit(LogLevel::Error, args);
}

/// Log something an operator should know about.
pub fn warn(args: fmt::Arguments<'_>) {
    emit(LogLevel::Warn, args);
}

/// Log a lifecycle event.
pub fn info(args: fmt::Arguments<'_>) {
    emit(LogLevel::Info, args);
}

/// Log per-call detail.
pub fn debug(args: fmt::Arguments<'_>) {
    emit(LogLevel::Debug, args);
}

/// Log everything else.
pub fn trace(args: fmt::Arguments<'_>) {
    emit(LogLevel::Trace, args);
}

fn emit(level: LogLevel, args: fmt::Arguments<'_>) {
    if enabled(level) {
        // Nowhere to report a failing stderr: the message is dropped.
        let _ = write_line(&mut io::stderr().lock(), level, args);
    }
}

/// One whole line in one `write_all`, so lines of concurrent threads do not interleave.
/// The pid is read each time: it changes in a forked child.
fn write_line(out: &mut impl Write, level: LogLevel, args: fmt::Arguments<'_>) -> io::Result<()> {
    let line = format!("anyhsm[{}]: {} {}\n", std::process::id(), level.tag(), args);
    out.write_all(line.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_format() {
        let mut out = Vec::new();
        write_line(&mut out, LogLevel::Warn, format_args!("token {} is {}", 3, "odd")).unwrap();
        let want = format!("anyhsm[{}]: WARN token 3 is odd\n", std::process::id());
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    #[test]
    fn names_parse_back_in_any_case() {
        for l in LogLevel::ALL {
            assert_eq!(l.name().parse::<LogLevel>(), Ok(l));
            assert_eq!(l.name().to_uppercase().parse::<LogLevel>(), Ok(l));
            assert_eq!(l.to_string(), l.name());
            assert_eq!(LogLevel::from_u8(l as u8), l);
        }
        assert_eq!("verbose".parse::<LogLevel>(), Err(UnknownLogLevel));
        assert_eq!("".parse::<LogLevel>(), Err(UnknownLogLevel));
        assert!(UnknownLogLevel.to_string().contains("\"trace\""));
    }

    #[test]
    fn levels_are_ordered_quietest_first() {
        assert!(LogLevel::ALL.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(LogLevel::default(), LogLevel::Warn);
    }

    /// The only test that touches the global level (tests run in parallel).
    #[test]
    fn global_level_filters() {
        set_level(LogLevel::Info);
        assert_eq!(level(), LogLevel::Info);
        assert!(enabled(LogLevel::Error) && enabled(LogLevel::Warn) && enabled(LogLevel::Info));
        assert!(!enabled(LogLevel::Debug) && !enabled(LogLevel::Trace));
        set_level(LogLevel::Off);
        assert!(LogLevel::ALL.iter().all(|l| !enabled(*l)));
        error(format_args!("not printed"));
        set_level(LogLevel::Trace);
        assert!(!enabled(LogLevel::Off), "Off is not a message level");
        assert!(enabled(LogLevel::Trace));
        set_level(LogLevel::Warn);
    }
}
