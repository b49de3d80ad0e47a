//! Site-style routing: a method and an exact path, or a method and a path prefix.
//!
//! Routes are matched on the path only, never the query string. For a request path, an exact
//! route beats any prefix route, and a longer prefix beats a shorter one. A path that some
//! route serves with other methods is answered 405 with `Allow` ([RFC 9110 §15.5.6]); a path
//! nothing serves is 404. A `GET` route also answers `HEAD` ([RFC 9110 §9.3.2]).
//!
//! [RFC 9110 §15.5.6]: https://www.rfc-editor.org/rfc/rfc9110#section-15.5.6
//! [RFC 9110 §9.3.2]: https://www.rfc-editor.org/rfc/rfc9110#section-9.3.2

use std::fmt;

use crate::auth::AuthPolicy;

/// An HTTP request method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
    /// `OPTIONS`
    Options,
}

impl Method {
    /// Parses a method token. Methods are case-sensitive ([RFC 9110 §9.1]); the Fetch standard
    /// upper-cases the common ones before a Worker sees them. Unknown methods give `None`.
    ///
    /// [RFC 9110 §9.1]: https://www.rfc-editor.org/rfc/rfc9110#section-9.1
    pub fn parse(token: &str) -> Option<Method> {
        Some(match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            _ => return None,
        })
    }

    /// The method token.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A route declaration, in the shape of Convex's `http.route({ path, method, handler })`.
///
/// A `path` ending in `/` is a prefix: `"/api/"` serves `/api/` and everything below it.
/// Any other path is exact.
#[derive(Debug, Clone)]
pub struct Route<H> {
    /// The path or path prefix, starting with `/`.
    pub path: &'static str,
    /// The method served.
    pub method: Method,
    /// What the route does with bearer tokens.
    pub auth: AuthPolicy,
    /// What answers the request.
    pub handler: H,
}

impl<H> Route<H> {
    fn is_prefix(&self) -> bool {
        self.path.ends_with('/')
    }

    /// How specific a match of `path` this route is, or `None` if it does not match.
    /// Exact routes rank above every prefix; longer prefixes rank above shorter ones.
    fn rank(&self, path: &str) -> Option<usize> {
        if self.is_prefix() {
            path.starts_with(self.path).then_some(self.path.len())
        } else {
            (path == self.path).then_some(usize::MAX)
        }
    }

    fn serves(&self, method: Method) -> bool {
        self.method == method || (self.method == Method::Get && method == Method::Head)
    }
}

/// What the router found for a request.
#[derive(Debug)]
pub enum Resolution<'r, H> {
    /// This route answers.
    Found(&'r Route<H>),
    /// Some route serves the path, none with this method; `allow` lists those that do.
    MethodNotAllowed { allow: Vec<Method> },
    /// Nothing serves the path.
    NotFound,
}

/// A set of routes.
#[derive(Debug, Clone)]
pub struct Router<H> {
    routes: Vec<Route<H>>,
}

impl<H> Default for Router<H> {
    fn default() -> Self {
        Router { routes: Vec::new() }
    }
}

impl<H> Router<H> {
    /// An empty router.
    pub fn new() -> Self {
        Router::default()
    }

    /// Adds a route.
    ///
    /// # Panics
    ///
    /// Panics when the path does not start with `/`, or when the same method and path are
    /// declared twice: both are mistakes in the code that declares routes, caught by the first
    /// request in any test.
    pub fn route(mut self, route: Route<H>) -> Self {
        assert!(
            route.path.starts_with('/'),
            "route path {:?} must start with '/'",
            route.path
        );
        assert!(
            !self
                .routes
                .iter()
                .any(|r| r.path == route.path && r.method == route.method),
            "route {} {} is declared twice",
            route.method,
            route.path
        );
        self.routes.push(route);
        self
    }

    /// Finds the route for `method` and `path`.
    pub fn resolve(&self, method: Method, path: &str) -> Resolution<'_, H> {
        let best = self
            .routes
            .iter()
            .filter(|route| route.serves(method))
            .filter_map(|route| route.rank(path).map(|rank| (rank, route)))
            .max_by_key(|(rank, _)| *rank);
        if let Some((_, route)) = best {
            return Resolution::Found(route);
        }

        let allow = self.methods_for(path);
        if allow.is_empty() {
            Resolution::NotFound
        } else {
            Resolution::MethodNotAllowed { allow }
        }
    }

    /// Every method some route serves at `path`, sorted, `HEAD` included where `GET` is.
    /// This is what `Allow` and `Access-Control-Allow-Methods` list.
    pub fn methods_for(&self, path: &str) -> Vec<Method> {
        let mut methods: Vec<Method> = Vec::new();
        for route in self
            .routes
            .iter()
            .filter(|route| route.rank(path).is_some())
        {
            methods.push(route.method);
            if route.method == Method::Get {
                methods.push(Method::Head);
            }
        }
        methods.sort();
        methods.dedup();
        methods
    }
}

/// Joins methods as a header list: `GET, HEAD, POST`.
pub fn method_list(methods: &[Method]) -> String {
    methods
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Router<&'static str> {
        let route = |path, method, handler| Route {
            path,
            method,
            auth: AuthPolicy::Public,
            handler,
        };
        Router::new()
            .route(route("/health", Method::Get, "health"))
            .route(route("/echo", Method::Post, "echo"))
            .route(route("/files/", Method::Get, "files"))
            .route(route("/files/private/", Method::Get, "private"))
            .route(route("/files/readme", Method::Get, "readme"))
            .route(route("/files/readme", Method::Delete, "delete-readme"))
            .route(route("/upload/", Method::Put, "upload"))
    }

    fn found(method: Method, path: &str) -> &'static str {
        match router().resolve(method, path) {
            Resolution::Found(route) => route.handler,
            other => panic!("{method} {path}: {other:?}"),
        }
    }

    #[test]
    fn exact_paths_match_only_themselves() {
        assert_eq!(found(Method::Get, "/health"), "health");
        assert!(matches!(
            router().resolve(Method::Get, "/health/"),
            Resolution::NotFound
        ));
        assert!(matches!(
            router().resolve(Method::Get, "/healthz"),
            Resolution::NotFound
        ));
    }

    #[test]
    fn longest_prefix_wins_and_exact_beats_prefix() {
        assert_eq!(found(Method::Get, "/files/a.txt"), "files");
        assert_eq!(found(Method::Get, "/files/"), "files");
        assert_eq!(found(Method::Get, "/files/private/key"), "private");
        assert_eq!(found(Method::Get, "/files/readme"), "readme");
        assert!(matches!(
            router().resolve(Method::Get, "/files"),
            Resolution::NotFound
        ));
    }

    #[test]
    fn get_routes_answer_head() {
        assert_eq!(found(Method::Head, "/health"), "health");
        assert_eq!(found(Method::Head, "/files/x"), "files");
    }

    #[test]
    fn other_methods_get_405_with_allow() {
        let Resolution::MethodNotAllowed { allow } = router().resolve(Method::Post, "/health")
        else {
            panic!()
        };
        assert_eq!(method_list(&allow), "GET, HEAD");
        let Resolution::MethodNotAllowed { allow } = router().resolve(Method::Put, "/files/readme")
        else {
            panic!()
        };
        assert_eq!(method_list(&allow), "GET, HEAD, DELETE");
    }

    #[test]
    fn a_method_served_by_a_shorter_prefix_is_found() {
        // DELETE is declared only on the exact path; GET on the prefix still serves below.
        assert_eq!(found(Method::Delete, "/files/readme"), "delete-readme");
        assert_eq!(found(Method::Get, "/files/private/"), "private");
    }

    #[test]
    fn unknown_paths_are_not_found() {
        assert!(matches!(
            router().resolve(Method::Get, "/"),
            Resolution::NotFound
        ));
        assert!(router().methods_for("/nope").is_empty());
        assert_eq!(method_list(&router().methods_for("/upload/x")), "PUT");
    }

    #[test]
    #[should_panic(expected = "declared twice")]
    fn duplicate_routes_are_refused() {
        let route = || Route {
            path: "/a",
            method: Method::Get,
            auth: AuthPolicy::Public,
            handler: (),
        };
        let _ = Router::new().route(route()).route(route());
    }

    #[test]
    fn methods_are_case_sensitive() {
        assert_eq!(Method::parse("GET"), Some(Method::Get));
        assert_eq!(Method::parse("get"), None);
        assert_eq!(Method::parse("PROPFIND"), None);
    }
}
