//! Where the server stands: the address its users type (`--public-url`), and, behind a reverse
//! proxy, the header that carries the client's address (`--client-address-header`).
//!
//! - With an `https://` public address, every cookie is `Secure` and responses carry HSTS: the
//!   proxy terminates TLS, so the server itself only ever sees plain HTTP and cannot tell.
//! - With a public address, a browser's state-changing request must come from that origin;
//!   without one, from the `Host` the request was sent to.
//! - The client's address keys the rate limits. Behind a proxy every connection comes from the
//!   proxy, so the named header is trusted instead; with `X-Forwarded-For` (a list each proxy
//!   appends to), the right-most entry is the one our proxy wrote, and the only one a client
//!   cannot forge. Never trust a header the proxy does not overwrite or append to.

use std::net::IpAddr;

use axum::http::header::{HeaderName, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Uri};

/// Why `--public-url` or `--client-address-header` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EdgeError {
    /// The public URL is not an absolute `http` or `https` URL of a host.
    #[error(
        "--public-url {0:?} is not an address such as https://lab.example.org: give the scheme \
         (http or https) and the host, with a port if not the default, and no path"
    )]
    PublicUrl(String),
    /// The header name is not a valid HTTP header name.
    #[error("--client-address-header {0:?} is not a header name such as X-Forwarded-For")]
    HeaderName(String),
}

/// What the server knows of where it stands. The default: no proxy, no public address.
#[derive(Debug, Clone, Default)]
pub struct Edge {
    /// `scheme://host[:port]`, lower case, as a browser sends it in `Origin`.
    origin: Option<String>,
    https: bool,
    client_address_header: Option<HeaderName>,
}

impl Edge {
    /// Reads `--public-url` and `--client-address-header`.
    pub fn new(
        public_url: Option<&str>,
        client_address_header: Option<&str>,
    ) -> Result<Self, EdgeError> {
        let mut edge = Self::default();
        if let Some(url) = public_url {
            let refused = || EdgeError::PublicUrl(url.to_owned());
            let uri: Uri = url.parse().map_err(|_| refused())?;
            let scheme = uri.scheme_str().map(str::to_ascii_lowercase);
            let https = match scheme.as_deref() {
                Some("https") => true,
                Some("http") => false,
                _ => return Err(refused()),
            };
            let authority = uri.authority().ok_or_else(refused)?;
            let has_path = !matches!(uri.path(), "" | "/") || uri.query().is_some();
            if has_path || authority.as_str().contains('@') || authority.host().is_empty() {
                return Err(refused());
            }
            let default_port = if https { 443 } else { 80 };
            let host = authority.host().to_ascii_lowercase();
            let origin = match authority.port_u16() {
                Some(port) if port != default_port => {
                    format!("{}://{host}:{port}", if https { "https" } else { "http" })
                }
                _ => format!("{}://{host}", if https { "https" } else { "http" }),
            };
            edge.origin = Some(origin);
            edge.https = https;
        }
        if let Some(name) = client_address_header {
            edge.client_address_header = Some(
                HeaderName::try_from(name.trim())
                    .map_err(|_| EdgeError::HeaderName(name.to_owned()))?,
            );
        }
        Ok(edge)
    }

    /// Whether users reach the server over HTTPS (through a proxy that terminates TLS).
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// This server's address as a client reaches it: the public origin when one was given, else
    /// `http://` and the request's `Host` (a host that is not a plain name or address is left
    /// out, in favour of the default address).
    pub fn base_url(&self, headers: &HeaderMap) -> String {
        if let Some(origin) = self.public_origin() {
            return origin.trim_end_matches('/').to_owned();
        }
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|value| value.to_str().ok())
            .filter(|host| {
                !host.is_empty()
                    && host.chars().all(|c| {
                        c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '[' | ']')
                    })
            })
            .unwrap_or("127.0.0.1:8080");
        format!("http://{host}")
    }

    /// The public origin, `scheme://host[:port]`, if one was given.
    pub fn public_origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// Whether a browser request with these headers comes from another site: `Sec-Fetch-Site:
    /// cross-site`, or an `Origin` other than the public origin (or, without one, than the
    /// `Host` the request was sent to). A request without `Origin` is not a browser's
    /// cross-site form post, which always sends it.
    pub fn is_cross_site(&self, headers: &HeaderMap) -> bool {
        if headers
            .get("sec-fetch-site")
            .is_some_and(|site| site == "cross-site")
        {
            return true;
        }
        let Some(origin) = headers
            .get(axum::http::header::ORIGIN)
            .and_then(|origin| origin.to_str().ok())
        else {
            return false;
        };
        if origin == "null" {
            return true;
        }
        match &self.origin {
            Some(public) => !origin.eq_ignore_ascii_case(public),
            None => {
                let host = headers
                    .get(axum::http::header::HOST)
                    .and_then(|host| host.to_str().ok())
                    .unwrap_or_default();
                let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
                !origin_host.eq_ignore_ascii_case(host)
            }
        }
    }

    /// The client's address: from the trusted header when one is named (its right-most entry),
    /// else the connection's peer. `None` when neither says.
    pub fn client_address(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> Option<IpAddr> {
        let Some(name) = &self.client_address_header else {
            return peer;
        };
        // Several header lines count as one list, in order (RFC 9110, section 5.3).
        let last = headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .rfind(|entry| !entry.is_empty())?;
        parse_address(last)
    }
}

/// An address as proxies write it: `192.0.2.7`, `192.0.2.7:4711`, `2001:db8::1` or
/// `[2001:db8::1]:4711`.
fn parse_address(entry: &str) -> Option<IpAddr> {
    if let Ok(address) = entry.parse::<IpAddr>() {
        return Some(address);
    }
    if let Ok(socket) = entry.parse::<std::net::SocketAddr>() {
        return Some(socket.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse().ok())
}

/// Adds `Secure` to every `Set-Cookie` in `headers` that lacks it.
pub fn make_cookies_secure(headers: &mut HeaderMap) {
    let cookies: Vec<HeaderValue> = headers.get_all(SET_COOKIE).iter().cloned().collect();
    if cookies.is_empty() {
        return;
    }
    headers.remove(SET_COOKIE);
    for cookie in cookies {
        let secured = match cookie.to_str() {
            Ok(text)
                if !text
                    .split(';')
                    .any(|part| part.trim().eq_ignore_ascii_case("secure")) =>
            {
                HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or(cookie)
            }
            _ => cookie,
        };
        headers.append(SET_COOKIE, secured);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn a_public_url_is_reduced_to_its_origin() {
        let edge = Edge::new(Some("HTTPS://Lab.Example.org:443/"), None).unwrap();
        assert_eq!(edge.public_origin(), Some("https://lab.example.org"));
        assert!(edge.is_https());
        let edge = Edge::new(Some("http://10.0.0.5:8080"), None).unwrap();
        assert_eq!(edge.public_origin(), Some("http://10.0.0.5:8080"));
        assert!(!edge.is_https());
    }

    #[test]
    fn a_public_url_without_scheme_or_with_a_path_is_refused() {
        for url in [
            "lab.example.org",
            "ftp://lab.example.org",
            "https://lab.example.org/lab",
            "https://user@lab.example.org",
            "https://",
        ] {
            assert!(
                matches!(Edge::new(Some(url), None), Err(EdgeError::PublicUrl(_))),
                "{url}"
            );
        }
    }

    #[test]
    fn with_a_public_url_only_its_origin_may_post() {
        let edge = Edge::new(Some("https://lab.example.org"), None).unwrap();
        assert!(!edge.is_cross_site(&headers(&[("origin", "https://lab.example.org")])));
        assert!(edge.is_cross_site(&headers(&[
            ("origin", "http://lab.example.org"),
            ("host", "lab.example.org")
        ])));
        assert!(edge.is_cross_site(&headers(&[
            ("origin", "https://evil.example"),
            ("host", "lab.example.org")
        ])));
    }

    #[test]
    fn without_a_public_url_the_origin_must_match_the_host() {
        let edge = Edge::default();
        assert!(edge.is_cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(edge.is_cross_site(&headers(&[
            ("origin", "http://evil.example"),
            ("host", "127.0.0.1:8080")
        ])));
        assert!(edge.is_cross_site(&headers(&[("origin", "null"), ("host", "127.0.0.1:8080")])));
        assert!(!edge.is_cross_site(&headers(&[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080")
        ])));
        assert!(!edge.is_cross_site(&headers(&[("host", "127.0.0.1:8080")])));
        assert!(!edge.is_cross_site(&headers(&[("sec-fetch-site", "same-origin")])));
    }

    #[test]
    fn the_client_address_is_the_right_most_entry_of_the_trusted_header() {
        let peer = Some("127.0.0.1".parse().unwrap());
        let edge = Edge::new(None, Some("X-Forwarded-For")).unwrap();
        let sent = headers(&[
            ("x-forwarded-for", "203.0.113.9, 198.51.100.4"),
            ("x-forwarded-for", "192.0.2.7"),
        ]);
        assert_eq!(
            edge.client_address(&sent, peer),
            Some("192.0.2.7".parse().unwrap())
        );
        let bracketed = headers(&[("x-forwarded-for", "[2001:db8::1]:4711")]);
        assert_eq!(
            edge.client_address(&bracketed, peer),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(edge.client_address(&HeaderMap::new(), peer), None);
        assert_eq!(
            Edge::default().client_address(&sent, peer),
            peer,
            "no header is trusted unless named"
        );
    }

    #[test]
    fn cookies_are_made_secure_once() {
        let mut map = headers(&[
            ("set-cookie", "chaoslab_session=abc; Path=/; HttpOnly"),
            ("set-cookie", "other=1; Secure"),
        ]);
        make_cookies_secure(&mut map);
        let cookies: Vec<_> = map
            .get_all(SET_COOKIE)
            .iter()
            .map(|value| value.to_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            cookies,
            [
                "chaoslab_session=abc; Path=/; HttpOnly; Secure",
                "other=1; Secure"
            ]
        );
    }
}
