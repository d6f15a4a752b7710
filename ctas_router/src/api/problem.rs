//! RFC 9457 problems: every error answer of the HTTP API is `application/problem+json`
//! and names what was wrong.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::hot::HotError;

/// An RFC 9457 problem; every error response of the API is one.
#[derive(Debug)]
pub struct Problem {
    pub(crate) status: StatusCode,
    kind: &'static str,
    title: &'static str,
    detail: String,
    /// Members beside the standard ones (RFC 9457 §3.2): `errors` of a refused document,
    /// `tiers` of a router not ready.
    extensions: serde_json::Map<String, Value>,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: String,
    ) -> Self {
        Problem {
            status,
            kind,
            title,
            detail,
            extensions: serde_json::Map::new(),
        }
    }

    /// The problem with one more member.
    pub fn with(mut self, member: &str, value: Value) -> Self {
        self.extensions.insert(member.to_owned(), value);
        self
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            e.to_string(),
        )
    }
}

/// The type of a problem answered, kept on the response for the metrics
/// (`ctas_http_problems_total`).
#[derive(Debug, Clone, Copy)]
pub struct ProblemType(pub &'static str);

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let kind = self.kind;
        let mut body = json!({
            "type": format!("urn:ctas:problem:{}", self.kind),
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Some(map) = body.as_object_mut() {
            map.extend(self.extensions);
        }
        let mut resp = (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response();
        resp.extensions_mut().insert(ProblemType(kind));
        resp
    }
}

/// A hot-tier failure: 503 while the router shuts down, 500 otherwise.
impl From<HotError> for Problem {
    fn from(e: HotError) -> Self {
        match e {
            HotError::Closed => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting-down",
                "The router is shutting down",
                "nothing was stored; send the request again once the router is back".into(),
            ),
            e => Problem::internal(e),
        }
    }
}
