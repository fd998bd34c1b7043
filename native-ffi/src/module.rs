//! One initialised module: the engine, built at `C_Initialize` from the configuration, with
//! its store, RNG and clock.

use alloc::{boxed::Box, string::String, vec::Vec};

use anyhsm_core::{
    Error, Result,
    engine::{Engine, EngineConfig},
    rng::{DeterministicRng, Rng},
    store::Store,
};

use crate::{
    config::{Backend, Config},
    log,
    rng::{OsRng, SystemClock},
    store::{FileStore, OpenError, SqliteStore},
};

/// The state between `C_Initialize` and `C_Finalize`.
#[derive(Debug)]
pub struct Module {
    /// The token engine.
    pub engine: Engine,
}

impl Module {
    /// Build the module from the environment's configuration (`ANYHSM_CONF`,
    /// `ANYHSM_TOKEN_DIR`, `ANYHSM_LOG`, …), logging every problem with the name of what
    /// caused it.
    ///
    /// # Errors
    /// `GeneralError` for a bad configuration; `DeviceError` when the token directory cannot
    /// be used; the engine's error if it cannot load the tokens.
    pub fn from_env() -> Result<Self> {
        let config = Config::from_env().map_err(|e| {
            log::error(format_args!("C_Initialize: bad configuration: {e}"));
            Error::GeneralError
        })?;
        Self::from_config(&config)
    }

    /// Build the module from a configuration.
    ///
    /// # Errors
    /// As [`Module::from_env`], without the configuration step.
    pub fn from_config(config: &Config) -> Result<Self> {
        log::set_level(config.log_level);
        let refused = |e: OpenError| {
            log::error(format_args!("C_Initialize: cannot open the token store: {e}"));
            e.ck_error()
        };
        let store: Box<dyn Store> = match config.backend {
            Backend::File => {
                Box::new(FileStore::open_with(&config.token_dir, config.modes).map_err(refused)?)
            }
            Backend::Sqlite => {
                Box::new(SqliteStore::open_with(&config.token_dir, config.modes).map_err(refused)?)
            }
        };
        let rng: Box<dyn Rng> = match config.deterministic_seed {
            Some(seed) => {
                log::warn(format_args!(
                    "DETERMINISTIC TEST MODE: keys, serials and signatures repeat exactly from \
                     the configured seed; never use this module for real keys"
                ));
                Box::new(DeterministicRng::from_seed(seed))
            }
            None => Box::new(OsRng::default()),
        };
        let engine_config =
            EngineConfig { fast_pin_kdf: config.test_token, max_failures: config.max_pin_failures };
        let mut engine = Engine::new(store, rng, Box::new(SystemClock), engine_config).inspect_err(|e| {
            log::error(format_args!("C_Initialize: the engine cannot load the tokens: {e}"));
        })?;
        log_warnings(engine.take_warnings());
        log::info(format_args!(
            "initialised with tokens in {} ({:?} store)",
            config.token_dir.display(),
            config.backend
        ));
        Ok(Self { engine })
    }

    /// Log what the engine noticed during the last call.
    pub fn flush_warnings(&mut self) {
        log_warnings(self.engine.take_warnings());
    }
}

fn log_warnings(warnings: Vec<String>) {
    for w in warnings {
        log::warn(format_args!("{w}"));
    }
}
