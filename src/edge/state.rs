//! The isolate's configuration: read from the bindings on the first request, kept after.

use std::cell::RefCell;
use std::rc::Rc;

use worker::{console_error, console_log, console_warn, Env};

use super::action::Handler;
use super::env;
use crate::config::{Config, ConfigError};
use crate::cors::CorsPolicy;
use crate::gateway::Gateway;
use crate::routing::Router;

/// The gateway, or why there is none.
pub enum State {
    /// Serving.
    Ready(Gateway<Handler>),
    /// A setting is unusable; every request gets this error.
    Broken {
        /// The setting and what is wrong.
        error: ConfigError,
        /// The CORS policy, when the CORS settings themselves are valid.
        cors: Option<CorsPolicy>,
    },
}

thread_local! {
    static STATE: RefCell<Option<Rc<State>>> = const { RefCell::new(None) };
}

/// The state, built on the first call. Workers bindings do not change during an isolate's
/// life, so they are read only once.
pub async fn get(env: &Env, routes: fn() -> Router<Handler>) -> Rc<State> {
    if let Some(state) = STATE.with(|s| s.borrow().clone()) {
        return state;
    }
    let lookup = |name: &str| env::text(env, name);
    let config = match Config::from_lookup(lookup) {
        Ok(config) => import_static_keys(&config).await.map(|()| config),
        Err(error) => Err(error),
    };
    let state = match config {
        Ok(config) => {
            log_loaded(&config);
            State::Ready(Gateway {
                config,
                router: routes(),
            })
        }
        Err(error) => {
            console_error!(
                "{}",
                serde_json::json!({"event": "config_error", "setting": error.setting,
                                   "message": error.to_string()})
            );
            State::Broken {
                cors: Config::cors_from_lookup(lookup).ok(),
                error,
            }
        }
    };
    let state = Rc::new(state);
    STATE.with(|s| *s.borrow_mut() = Some(state.clone()));
    state
}

/// The issuer of the development provider shipped in wrangler.toml.
const DEVELOPMENT_ISSUER: &str = "https://dev.sitegate.invalid";

/// One line per isolate saying what was loaded, with a warning for the two configurations
/// that are valid but almost never meant: the public development provider, and no origins.
fn log_loaded(config: &Config) {
    let issuers: Vec<&str> = config
        .auth
        .providers()
        .iter()
        .map(|p| p.issuer.as_str())
        .collect();
    let mut warnings = Vec::new();
    if issuers.contains(&DEVELOPMENT_ISSUER) {
        warnings.push(
            "the development provider is trusted: its private key is public (dev/); \
             never deploy this configuration",
        );
    }
    if !config.cors.allows_some_origin() {
        warnings
            .push("CORS_ALLOWED_ORIGINS is empty: no page on another origin can read a response");
    }
    let line = serde_json::json!({"event": "config_loaded", "issuers": issuers,
                                  "warnings": warnings});
    if warnings.is_empty() {
        console_log!("{line}");
    } else {
        console_warn!("{line}");
    }
}

/// Imports every configured key into Web Crypto before the first request is served: a key
/// that Web Crypto refuses (an EC point off its curve, say) is a configuration error,
/// reported like any other, rather than a failure of every token that names it.
#[cfg(not(feature = "native-verify"))]
async fn import_static_keys(config: &Config) -> Result<(), ConfigError> {
    for (index, provider) in config.auth.providers().iter().enumerate() {
        let crate::auth::KeySource::Static(keys) = &provider.keys else {
            continue;
        };
        for key in keys {
            if let Err(err) = super::crypto::import_all(key, &provider.algorithms).await {
                return Err(ConfigError {
                    setting: "AUTH_PROVIDERS",
                    problem: format!("provider {index}: jwks: {}", err.0),
                });
            }
        }
    }
    Ok(())
}

#[cfg(feature = "native-verify")]
async fn import_static_keys(_config: &Config) -> Result<(), ConfigError> {
    Ok(())
}
