//! Bearer tokens (RFC 6750) with a read or a write scope.
//!
//! Tokens come from `CTAS_READ_TOKENS` / `CTAS_WRITE_TOKENS` (comma-separated) and from
//! a tokens file of `read TOKEN` / `write TOKEN` lines. Only their SHA-256 digests are
//! kept, and a presented token is compared with every digest in constant time, so
//! neither the time of an answer nor a memory dump tells a token. No token is ever
//! logged or echoed in an error.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq, ConstantTimeGreater};

use super::Problem;

/// Shortest token taken: fewer characters can be guessed.
pub const MIN_TOKEN_CHARS: usize = 16;

/// What a token lets its holder do. A write token reads too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Lookups, traces, status, metrics, analysis: nothing stored.
    Read = 1,
    /// Ingest and replay too.
    Write = 2,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }
}

/// The tokens the router takes, as digests.
#[derive(Default)]
pub struct Tokens {
    digests: Vec<([u8; 32], Scope)>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} configured)", self.digests.len())
    }
}

fn digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

impl Tokens {
    /// The tokens of the environment's lists and of the file, if any. An error names
    /// where the bad token is (the variable, or the file and line), never the token.
    pub fn load(read: &str, write: &str, file: Option<&Path>) -> Result<Self, String> {
        let mut tokens = Tokens::default();
        for (list, scope, name) in [
            (read, Scope::Read, "CTAS_READ_TOKENS"),
            (write, Scope::Write, "CTAS_WRITE_TOKENS"),
        ] {
            for (i, token) in list.split(',').map(str::trim).enumerate() {
                if token.is_empty() {
                    continue;
                }
                tokens
                    .add(token, scope)
                    .map_err(|e| format!("{name}, token {}: {e}", i + 1))?;
            }
        }
        if let Some(path) = file {
            tokens.add_file(path)?;
        }
        Ok(tokens)
    }

    fn add(&mut self, token: &str, scope: Scope) -> Result<(), String> {
        let n = token.chars().count();
        if n < MIN_TOKEN_CHARS {
            return Err(format!(
                "{n} characters; a token needs at least {MIN_TOKEN_CHARS} (try `openssl rand -hex 32`)"
            ));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("a token is printable ASCII without spaces".into());
        }
        self.digests.push((digest(token.as_bytes()), scope));
        Ok(())
    }

    fn add_file(&mut self, path: &Path) -> Result<(), String> {
        let shown = path.display();
        let meta =
            std::fs::metadata(path).map_err(|e| format!("cannot read tokens file {shown}: {e}"))?;
        // As ssh does with a private key: a secret others can read is no longer one.
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "tokens file {shown} can be read by other users (mode {mode:03o}); chmod 600 it"
            ));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read tokens file {shown}: {e}"))?;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = || format!("tokens file {shown}, line {}", i + 1);
            let (scope, token) = match line.split_once(char::is_whitespace) {
                Some(("read", t)) => (Scope::Read, t.trim()),
                Some(("write", t)) => (Scope::Write, t.trim()),
                _ => return Err(format!("{}: a line is `read TOKEN` or `write TOKEN`", at())),
            };
            self.add(token, scope)
                .map_err(|e| format!("{}: {e}", at()))?;
        }
        Ok(())
    }

    /// No token configured: the API is open (on loopback only, `crate::config`).
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// The scope of `presented`, comparing it with every token whatever matches.
    fn scope_of(&self, presented: &[u8]) -> Option<Scope> {
        let d = digest(presented);
        let mut best = 0u8;
        for (known, scope) in &self.digests {
            let grant = u8::conditional_select(&0, &(*scope as u8), known[..].ct_eq(&d[..]));
            // A max without a branch on the secret.
            best = u8::conditional_select(&best, &grant, grant.ct_gt(&best));
        }
        match best {
            2 => Some(Scope::Write),
            1 => Some(Scope::Read),
            _ => None,
        }
    }
}

/// 401 or 403 with the `WWW-Authenticate` challenge RFC 6750 §3 asks for.
fn refused(status: StatusCode, challenge: String, kind: &'static str, detail: String) -> Response {
    let title = if status == StatusCode::FORBIDDEN {
        "Forbidden"
    } else {
        "Unauthorized"
    };
    let mut resp = Problem::new(status, kind, title, detail).into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

/// Middleware: the request goes on only with a token of `needed` scope or more.
pub async fn require(
    State((tokens, needed)): State<(Arc<Tokens>, Scope)>,
    req: Request,
    next: Next,
) -> Response {
    if tokens.is_empty() {
        return next.run(req).await;
    }
    let realm = r#"Bearer realm="ctas-router""#;
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes())
        .and_then(|v| {
            // The scheme is case-insensitive (RFC 9110 §11.1).
            (v.len() > 7 && v[..7].eq_ignore_ascii_case(b"bearer ")).then(|| v[7..].trim_ascii())
        });
    let Some(presented) = presented else {
        return refused(
            StatusCode::UNAUTHORIZED,
            realm.to_owned(),
            "unauthorized",
            "this call needs a bearer token: Authorization: Bearer TOKEN".into(),
        );
    };
    match tokens.scope_of(presented) {
        None => refused(
            StatusCode::UNAUTHORIZED,
            format!(r#"{realm}, error="invalid_token""#),
            "invalid-token",
            "the bearer token is not one this router takes".into(),
        ),
        Some(scope) if scope < needed => refused(
            StatusCode::FORBIDDEN,
            format!(
                r#"{realm}, error="insufficient_scope", scope="{}""#,
                needed.as_str()
            ),
            "insufficient-scope",
            format!(
                "this call needs a {} token; the token given has the {} scope",
                needed.as_str(),
                scope.as_str()
            ),
        ),
        Some(_) => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens::load(
            "rrrrrrrrrrrrrrrr1, rrrrrrrrrrrrrrrr2",
            "wwwwwwwwwwwwwwww1",
            None,
        )
        .unwrap()
    }

    #[test]
    fn a_token_has_its_scope_and_nothing_else_has_one() {
        let t = tokens();
        assert_eq!(t.scope_of(b"rrrrrrrrrrrrrrrr2"), Some(Scope::Read));
        assert_eq!(t.scope_of(b"wwwwwwwwwwwwwwww1"), Some(Scope::Write));
        assert_eq!(t.scope_of(b"wwwwwwwwwwwwwwww"), None);
        assert_eq!(t.scope_of(b""), None);
        // The same token in both lists: the wider scope.
        let both = Tokens::load("xxxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxxx", None).unwrap();
        assert_eq!(both.scope_of(b"xxxxxxxxxxxxxxxx"), Some(Scope::Write));
    }

    #[test]
    fn a_bad_token_is_named_by_where_it_is_not_by_what_it_is() {
        let e = Tokens::load("", "good-enough-token-1,short", None).unwrap_err();
        assert!(
            e.starts_with("CTAS_WRITE_TOKENS, token 2: 5 characters"),
            "{e}"
        );
        assert!(!e.contains("short"), "{e}");
        assert!(!format!("{:?}", tokens()).contains("rrrr"));
    }
}
