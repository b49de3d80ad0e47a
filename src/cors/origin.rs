//! Which origins may read responses: exact origins, subdomain patterns, or any origin.
//!
//! An origin is `scheme "://" host [ ":" port ]` ([RFC 6454 §6.2]), which is exactly what
//! browsers send in `Origin`. Configured origins are checked for that shape at start-up: a
//! path, a trailing slash, a query or credentials in an origin are configuration errors,
//! because browsers never send them and such an entry would silently match nothing.
//!
//! [RFC 6454 §6.2]: https://www.rfc-editor.org/rfc/rfc6454#section-6.2

/// One entry of `CORS_ALLOWED_ORIGINS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginRule {
    /// `*`: every origin.
    Any,
    /// One origin, lower-cased, such as `http://localhost:5173`.
    Exact(String),
    /// `scheme://*.domain[:port]`: any origin of that scheme and port whose host ends with
    /// `.domain` (one or more labels deeper; `domain` itself is not matched).
    Subdomain {
        /// `scheme://`
        scheme: String,
        /// `.domain` (with the leading dot)
        suffix: String,
        /// `:port`, or empty
        port: String,
    },
}

impl OriginRule {
    /// Parses one configured entry.
    pub fn parse(entry: &str) -> Result<OriginRule, String> {
        if entry == "*" {
            return Ok(OriginRule::Any);
        }
        if entry.eq_ignore_ascii_case("null") {
            return Err(
                "\"null\" is sent by sandboxed and file: pages; it cannot be allowed".into(),
            );
        }
        let lowered = entry.to_ascii_lowercase();
        let (scheme, rest) = lowered
            .split_once("://")
            .ok_or_else(|| format!("{entry:?} is not an origin: expected scheme://host[:port]"))?;
        if scheme.is_empty()
            || !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Err(format!("{entry:?} has an invalid scheme"));
        }
        if let Some(at) = rest.find(['/', '?', '#']) {
            let what = if &rest[at..] == "/" {
                "a trailing slash"
            } else {
                "a path"
            };
            return Err(format!(
                "{entry:?} has {what}; an origin is only scheme://host[:port], as in {:?}",
                format!("{scheme}://{}", &rest[..at])
            ));
        }
        if rest.contains('@') {
            return Err(format!(
                "{entry:?} contains credentials; an origin has none"
            ));
        }

        let (host, port) =
            split_port(rest).ok_or_else(|| format!("{entry:?} has an invalid port"))?;
        let scheme = format!("{scheme}://");
        if let Some(domain) = host.strip_prefix("*.") {
            if !is_host(domain) || !domain.contains('.') && domain != "localhost" {
                return Err(format!(
                    "{entry:?}: a pattern needs a domain after \"*.\", as in https://*.example.com"
                ));
            }
            return Ok(OriginRule::Subdomain {
                scheme,
                suffix: format!(".{domain}"),
                port: port.to_string(),
            });
        }
        if host.contains('*') {
            return Err(format!(
                "{entry:?}: '*' may only stand for whole leading labels, \
                 as in https://*.example.com"
            ));
        }
        if !is_host(host) && !is_bracketed_ipv6(host) {
            return Err(format!("{entry:?} has an invalid host"));
        }
        Ok(OriginRule::Exact(format!("{scheme}{host}{port}")))
    }

    /// Whether `origin` (the request's `Origin` value) is allowed by this rule.
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            OriginRule::Any => true,
            OriginRule::Exact(allowed) => allowed.eq_ignore_ascii_case(origin),
            OriginRule::Subdomain {
                scheme,
                suffix,
                port,
            } => {
                let origin = origin.to_ascii_lowercase();
                let Some(rest) = origin.strip_prefix(scheme.as_str()) else {
                    return false;
                };
                let Some((host, found_port)) = split_port(rest) else {
                    return false;
                };
                found_port == port
                    && host.len() > suffix.len()
                    && host.ends_with(suffix.as_str())
                    && is_host(&host[..host.len() - suffix.len()])
            }
        }
    }
}

/// Splits `host[:port]`, returning the port with its colon.
fn split_port(authority: &str) -> Option<(&str, &str)> {
    let colon = if authority.starts_with('[') {
        authority
            .find(']')
            .map(|end| end + 1)
            .filter(|end| *end < authority.len())
    } else {
        authority.rfind(':')
    };
    match colon {
        None => Some((authority, "")),
        Some(at) => {
            let port = &authority[at + 1..];
            let valid = !port.is_empty()
                && port.len() <= 5
                && port.chars().all(|c| c.is_ascii_digit())
                && port.parse::<u32>().is_ok_and(|p| p <= 65535);
            valid.then(|| (&authority[..at], &authority[at..]))
        }
    }
}

/// A DNS name or IPv4 address: dot-separated labels of letters, digits and hyphens.
fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn is_bracketed_ipv6(host: &str) -> bool {
    host.len() > 2
        && host.starts_with('[')
        && host.ends_with(']')
        && host[1..host.len() - 1]
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_origins_match_case_insensitively_and_exactly() {
        let rule = OriginRule::parse("http://LOCALHOST:5173").unwrap();
        assert_eq!(rule, OriginRule::Exact("http://localhost:5173".into()));
        assert!(rule.allows("http://localhost:5173"));
        assert!(!rule.allows("http://localhost:5174"));
        assert!(!rule.allows("https://localhost:5173"));
        assert!(!rule.allows("http://localhost"));
        assert!(!rule.allows("http://localhost:5173.evil.com"));
    }

    #[test]
    fn subdomain_patterns_match_deeper_hosts_only() {
        let rule = OriginRule::parse("https://*.example.com").unwrap();
        assert!(rule.allows("https://app.example.com"));
        assert!(rule.allows("https://a.b.example.com"));
        assert!(!rule.allows("https://example.com"));
        assert!(!rule.allows("https://evilexample.com"));
        assert!(!rule.allows("https://evil-example.com"));
        assert!(!rule.allows("http://app.example.com"));
        assert!(!rule.allows("https://app.example.com:8443"));
        assert!(!rule.allows("https://app.example.com.evil.net"));
        assert!(!rule.allows("https://.example.com"));
        assert!(!rule.allows("https://a/b.example.com"));
        let with_port = OriginRule::parse("https://*.example.com:8443").unwrap();
        assert!(with_port.allows("https://app.example.com:8443"));
        assert!(!with_port.allows("https://app.example.com"));
    }

    #[test]
    fn paths_and_trailing_slashes_are_refused_with_the_fix() {
        let err = OriginRule::parse("http://localhost:5173/").unwrap_err();
        assert_eq!(
            err,
            "\"http://localhost:5173/\" has a trailing slash; an origin is only \
             scheme://host[:port], as in \"http://localhost:5173\""
        );
        assert!(OriginRule::parse("https://a.com/app")
            .unwrap_err()
            .contains("has a path"));
        assert!(OriginRule::parse("https://a.com?x")
            .unwrap_err()
            .contains("has a path"));
    }

    #[test]
    fn malformed_entries_are_refused() {
        for entry in [
            "localhost:5173",
            "https://",
            "https://a.com:",
            "https://a.com:99999",
            "https://u@a.com",
            "https://a*.com",
            "https://*",
            "https://*.com",
            "https://a..com",
            "1http://a.com",
            "null",
        ] {
            assert!(OriginRule::parse(entry).is_err(), "{entry}");
        }
    }

    #[test]
    fn other_schemes_and_ipv6_are_allowed() {
        assert!(OriginRule::parse("capacitor://localhost")
            .unwrap()
            .allows("capacitor://localhost"));
        assert!(OriginRule::parse("http://[::1]:8080")
            .unwrap()
            .allows("http://[::1]:8080"));
        assert!(OriginRule::parse("http://127.0.0.1:5173")
            .unwrap()
            .allows("http://127.0.0.1:5173"));
    }

    #[test]
    fn any_allows_everything() {
        assert!(OriginRule::Any.allows("null"));
        assert!(OriginRule::Any.allows("https://x.y"));
    }
}
