//! The commands that talk to a running router: `ingest`, `lookup`, `status`, `trace`,
//! `dead-letters`, `verify`.
//!
//! Exit status, for scripts: 0 done; 1 failed (the router refused, could not be
//! reached, or a file could not be read; the message says which); 2 a usage error
//! (clap's); 3 `lookup` answered and one or more values are unknown; 4 `verify`
//! answered and a tier misses or holds stale objects.

pub mod ingest;
pub mod lookup;
pub mod status;
pub mod verify;

use anyhow::{bail, Context};
use clap::Args;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use serde_json::Value;

/// Where the router is and the token to call it with.
#[derive(Debug, Clone, Args)]
pub struct Remote {
    /// Router URL.
    #[arg(long, env = "CTAS_URL", default_value = "http://127.0.0.1:8077")]
    pub url: String,
    /// Bearer token, when the router requires one (a write token for ingest and replay).
    #[arg(long, env = "CTAS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl Remote {
    /// An HTTP client that sends the token, if any, with every request.
    pub fn client(&self) -> anyhow::Result<reqwest::Client> {
        let mut headers = HeaderMap::new();
        if let Some(token) = self.token.as_deref().filter(|t| !t.is_empty()) {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
                .context("the token holds a character a header cannot carry")?;
            // Kept out of reqwest's debug output.
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        Ok(reqwest::Client::builder()
            .default_headers(headers)
            .build()?)
    }

    /// `url` joined with path segments, each escaped (an id may hold any character).
    pub fn at(&self, segments: &[&str]) -> anyhow::Result<reqwest::Url> {
        let mut u = reqwest::Url::parse(&self.url)
            .with_context(|| format!("--url {:?} is not a URL", self.url))?;
        u.path_segments_mut()
            .map_err(|_| anyhow::anyhow!("--url {:?} cannot take a path", self.url))?
            .pop_if_empty()
            .extend(segments);
        Ok(u)
    }

    /// Send `request`; its answer when it succeeded, or an error that says what the
    /// router said (and what to do about a missing token).
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<reqwest::Response> {
        let resp = request
            .send()
            .await
            .with_context(|| format!("cannot reach the router at {}", self.url))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let text = problem_text(resp).await;
        match status.as_u16() {
            401 if self.token.is_none() => bail!("{text} (set CTAS_TOKEN or pass --token)"),
            _ => bail!("{text}"),
        }
    }

    /// GET a JSON answer.
    pub async fn get_json(&self, segments: &[&str]) -> anyhow::Result<Value> {
        let resp = self.send(self.client()?.get(self.at(segments)?)).await?;
        Ok(resp.json().await?)
    }
}

/// The detail of a problem+json answer, or the body as it came.
async fn problem_text(resp: reqwest::Response) -> String {
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    match serde_json::from_str::<Value>(&body) {
        Ok(p) if p.get("detail").is_some() => {
            format!("{status}: {}", p["detail"].as_str().unwrap_or_default())
        }
        _ => format!("{status}: {body}"),
    }
}
