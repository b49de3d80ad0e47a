//! CORS: answering preflights and decorating responses ([Fetch §3.2]).
//!
//! sitegate owns these headers: whatever a handler set for them is replaced, except `Vary`,
//! which is extended and never overwritten.
//!
//! [Fetch §3.2]: https://fetch.spec.whatwg.org/#http-cors-protocol

pub mod origin;

use crate::routing::{method_list, Method};

pub use self::origin::OriginRule;

/// The headers whose value depends on the request in a preflight answer.
const PREFLIGHT_VARY: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

/// A list of header names, or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderRule {
    /// `*`. For allowed request headers this never covers `Authorization` in a browser
    /// (Fetch §3.2.3), so sitegate echoes the requested names instead of sending `*`.
    Any,
    /// Lower-cased header names.
    List(Vec<String>),
}

impl HeaderRule {
    /// Parses a comma-separated list; `*` alone means [`HeaderRule::Any`].
    pub fn parse(list: &str) -> Result<HeaderRule, String> {
        let names: Vec<&str> = split_list(list).collect();
        if names == ["*"] {
            return Ok(HeaderRule::Any);
        }
        let mut parsed = Vec::with_capacity(names.len());
        for name in names {
            if name == "*" {
                return Err("\"*\" must stand alone, not beside header names".into());
            }
            if !is_token(name) {
                return Err(format!("{name:?} is not a header name"));
            }
            let lower = name.to_ascii_lowercase();
            if !parsed.contains(&lower) {
                parsed.push(lower);
            }
        }
        Ok(HeaderRule::List(parsed))
    }

    fn allows(&self, name: &str) -> bool {
        match self {
            HeaderRule::Any => true,
            HeaderRule::List(names) => names.iter().any(|n| n.eq_ignore_ascii_case(name)),
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, HeaderRule::List(names) if names.is_empty())
    }

    fn to_header(&self) -> String {
        match self {
            HeaderRule::Any => "*".into(),
            HeaderRule::List(names) => names.join(", "),
        }
    }
}

/// The CORS settings, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsPolicy {
    origins: Vec<OriginRule>,
    allowed_headers: HeaderRule,
    exposed_headers: HeaderRule,
    credentials: bool,
    max_age: u32,
}

/// Which setting a [`CorsPolicy`] refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// The setting's name.
    pub setting: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl CorsPolicy {
    /// Builds a policy, refusing combinations browsers reject: with credentials, the Fetch
    /// standard forbids `*` in `Access-Control-Allow-Origin`, `-Allow-Headers` and
    /// `-Expose-Headers` (§3.2.5), so such a configuration is an error rather than a
    /// policy that silently fails in every browser.
    pub fn new(
        origins: Vec<OriginRule>,
        allowed_headers: HeaderRule,
        exposed_headers: HeaderRule,
        credentials: bool,
        max_age: u32,
    ) -> Result<CorsPolicy, PolicyError> {
        if origins.contains(&OriginRule::Any) && origins.len() > 1 {
            return Err(PolicyError {
                setting: "CORS_ALLOWED_ORIGINS",
                problem: "\"*\" must stand alone, not beside other origins".into(),
            });
        }
        if credentials {
            let with_any = [
                ("CORS_ALLOWED_ORIGINS", origins.contains(&OriginRule::Any)),
                ("CORS_ALLOWED_HEADERS", allowed_headers == HeaderRule::Any),
                ("CORS_EXPOSED_HEADERS", exposed_headers == HeaderRule::Any),
            ];
            if let Some((setting, _)) = with_any.iter().find(|(_, any)| *any) {
                return Err(PolicyError {
                    setting,
                    problem: "\"*\" cannot be used when CORS_ALLOW_CREDENTIALS is true; \
                              browsers refuse credentialed responses with a wildcard, so list \
                              the values"
                        .into(),
                });
            }
        }
        Ok(CorsPolicy {
            origins,
            allowed_headers,
            exposed_headers,
            credentials,
            max_age,
        })
    }

    /// Whether any origin is allowed at all. With none, no cross-origin page can read a
    /// response: a valid policy, but rarely the intended one.
    pub fn allows_some_origin(&self) -> bool {
        !self.origins.is_empty()
    }

    /// Whether `Access-Control-Allow-Origin` is the same for every request: `*` without
    /// credentials. Otherwise it depends on `Origin`, and caches must be told (`Vary`).
    fn origin_independent(&self) -> bool {
        self.origins == [OriginRule::Any]
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, if it is allowed.
    fn allow_origin(&self, origin: Option<&str>) -> Option<String> {
        if self.origin_independent() {
            return Some("*".into());
        }
        let origin = origin?;
        self.origins
            .iter()
            .any(|rule| rule.allows(origin))
            .then(|| origin.to_string())
    }

    /// The headers of a preflight answer for `origin`, asking to send `requested_headers`
    /// (the raw `Access-Control-Request-Headers`), to a path served with `methods`.
    ///
    /// A disallowed origin gets no CORS headers, so the browser stops there. Requested
    /// headers that are all allowed are echoed; otherwise the allowed list is sent, which the
    /// browser will find lacking, and its console names the missing header.
    pub fn preflight(
        &self,
        origin: &str,
        requested_headers: Option<&str>,
        methods: &[Method],
    ) -> Vec<(&'static str, String)> {
        let mut headers = vec![("Vary", PREFLIGHT_VARY.to_string())];
        let Some(allow_origin) = self.allow_origin(Some(origin)) else {
            return headers;
        };
        headers.push(("Access-Control-Allow-Origin", allow_origin));
        if self.credentials {
            headers.push(("Access-Control-Allow-Credentials", "true".into()));
        }
        headers.push(("Access-Control-Allow-Methods", method_list(methods)));

        let requested: Vec<&str> = requested_headers
            .map(split_list)
            .into_iter()
            .flatten()
            .collect();
        if !requested.is_empty() {
            let all_allowed = requested
                .iter()
                .all(|name| is_token(name) && self.allowed_headers.allows(name));
            let value = if all_allowed {
                requested
                    .iter()
                    .map(|n| n.to_ascii_lowercase())
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                self.allowed_headers.to_header()
            };
            if !value.is_empty() {
                headers.push(("Access-Control-Allow-Headers", value));
            }
        }
        headers.push(("Access-Control-Max-Age", self.max_age.to_string()));
        headers
    }

    /// The CORS headers of an actual (non-preflight) response to a request from `origin`.
    pub fn actual(&self, origin: Option<&str>) -> Decoration {
        let vary = (!self.origin_independent()).then_some("Origin");
        let Some(allow_origin) = self.allow_origin(origin) else {
            return Decoration {
                set: Vec::new(),
                vary,
            };
        };
        let mut set = vec![("Access-Control-Allow-Origin", allow_origin)];
        if self.credentials {
            set.push(("Access-Control-Allow-Credentials", "true".into()));
        }
        if !self.exposed_headers.is_empty() {
            set.push((
                "Access-Control-Expose-Headers",
                self.exposed_headers.to_header(),
            ));
        }
        Decoration { set, vary }
    }
}

/// What to add to an actual response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoration {
    /// Headers to set, replacing any value the handler gave.
    pub set: Vec<(&'static str, String)>,
    /// A name to add to `Vary` (see [`merge_vary`]).
    pub vary: Option<&'static str>,
}

/// Whether a request is a CORS preflight: `OPTIONS` with both `Origin` and
/// `Access-Control-Request-Method` (Fetch §3.2.2). Any other `OPTIONS` is an ordinary request.
pub fn is_preflight(method: &str, origin: Option<&str>, request_method: Option<&str>) -> bool {
    method == "OPTIONS" && origin.is_some() && request_method.is_some()
}

/// The `Vary` value after adding `name` to `existing`, or `None` when `existing` already
/// covers it (it lists `name`, or is `*`).
pub fn merge_vary(existing: Option<&str>, name: &str) -> Option<String> {
    let Some(existing) = existing.filter(|v| !v.trim().is_empty()) else {
        return Some(name.to_string());
    };
    let covered = split_list(existing).any(|v| v == "*" || v.eq_ignore_ascii_case(name));
    (!covered).then(|| format!("{existing}, {name}"))
}

/// Splits a comma-separated header list, trimming and skipping empty items.
pub(crate) fn split_list(list: &str) -> impl Iterator<Item = &str> {
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// An RFC 9110 §5.6.2 token.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests;
