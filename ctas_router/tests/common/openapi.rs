//! Every answer the tests get from the router is held to its OpenAPI document
//! (`ctas_router/openapi.json`, served at `/v1/openapi.json`): the path and method must
//! be an operation of it (or the answer a 404/405 problem), the status one the operation
//! lists, the Content-Type one that status has, and the body valid against its schema
//! by the `jsonschema` crate (JSON Schema 2020-12, OpenAPI 3.1's dialect).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Value};

/// The router's OpenAPI document.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        serde_json::from_str(include_str!("../../openapi.json")).expect("openapi.json is JSON")
    })
}

/// The template of the operation `path` is (the one with the most literal segments
/// when several match, so `/v1/indicators/lookup` is not `/v1/indicators/{value}`).
fn template_of(path: &str, method: &str) -> Option<(&'static str, &'static Value)> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut best: Option<(usize, &str, &Value)> = None;
    for (template, item) in document()["paths"].as_object().unwrap() {
        let parts: Vec<&str> = template.split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let literal = parts.iter().filter(|p| !p.starts_with('{')).count();
        let fits = parts
            .iter()
            .zip(&segments)
            .all(|(p, s)| p.starts_with('{') || p == s);
        let better = best.is_none_or(|(n, _, it)| {
            // A template that has the method wins over one that does not.
            let has = |i: &Value| i.get(method).is_some();
            (has(item), literal) > (has(it), n)
        });
        if fits && better {
            best = Some((literal, template, item));
        }
    }
    best.map(|(_, t, i)| (t, i))
}

/// Follow a `$ref` within the document.
fn resolve(v: &'static Value) -> &'static Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => resolve(
            document()
                .pointer(r.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("openapi.json: {r} does not resolve")),
        ),
        None => v,
    }
}

type Validators = Mutex<HashMap<String, Arc<jsonschema::Validator>>>;

fn validator(key: &str, schema: &Value) -> Arc<jsonschema::Validator> {
    static CACHE: OnceLock<Validators> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().unwrap().get(key) {
        return v.clone();
    }
    // The schema with the document's components beside it, so its `$ref`s resolve.
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": document()["components"],
        "allOf": [schema],
    });
    let v = Arc::new(
        jsonschema::draft202012::new(&root)
            .unwrap_or_else(|e| panic!("openapi.json: the schema of {key} does not compile: {e}")),
    );
    cache.lock().unwrap().insert(key.to_owned(), v.clone());
    v
}

/// Hold one answer to the document; panics naming what does not fit.
pub fn check(method: &str, url: &str, status: u16, content_type: &str, body: &[u8]) {
    let path = reqwest::Url::parse(url)
        .map(|u| u.path().to_owned())
        .unwrap_or_default();
    let method = method.to_ascii_lowercase();
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let asked = format!("{} {path}", method.to_uppercase());
    let problem = &document()["components"]["schemas"]["Problem"];
    let (key, schema) = match template_of(&path, &method) {
        // A path the API does not have: a 404 problem.
        None => {
            assert_eq!(
                (status, mime.as_str()),
                (404, "application/problem+json"),
                "{asked}: the document has no such path, and the answer is no 404 problem"
            );
            ("problem".to_owned(), problem)
        }
        Some((template, item)) => {
            match item.get(&method) {
                None => {
                    assert_eq!(
                        (status, mime.as_str()),
                        (405, "application/problem+json"),
                        "{asked}: the document has no {method} on {template}"
                    );
                    ("problem".to_owned(), problem)
                }
                Some(op) => {
                    let response = op["responses"]
                    .get(status.to_string())
                    .map(resolve)
                    .unwrap_or_else(|| {
                        panic!("{asked} answered {status}, which the document does not list for {method} {template}")
                    });
                    let Some(content) = response.get("content") else {
                        assert!(
                            body.is_empty(),
                            "{asked} {status}: a body where the document has none"
                        );
                        return;
                    };
                    let media = content.get(&mime).unwrap_or_else(|| {
                    panic!("{asked} {status}: Content-Type {content_type:?}, the document has {:?}",
                        content.as_object().unwrap().keys().collect::<Vec<_>>())
                });
                    (
                        format!("{method} {template} {status} {mime}"),
                        &media["schema"],
                    )
                }
            }
        }
    };
    if !mime.ends_with("json") {
        return;
    }
    let instance: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{asked} {status}: the body is not JSON ({e})"));
    let v = validator(&key, schema);
    let errors: Vec<String> = v
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{asked} {status}: the body does not fit the OpenAPI document ({key}):\n  {}\nbody: {}",
        errors.join("\n  "),
        String::from_utf8_lossy(&body[..body.len().min(2000)])
    );
}
