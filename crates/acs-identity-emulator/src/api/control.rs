//! The emulator-only control endpoints (no authentication, like the other `/emulator/` ones):
//!
//! - `GET /emulator/faults` → 200 `{"value":[rule...]}`; `POST /emulator/faults` with a rule →
//!   201 the rule with its `id`; `DELETE /emulator/faults` → 204 (all cleared);
//!   `DELETE /emulator/faults/{id}` → 204, or 404 when there is no such rule;
//! - `GET /emulator/identities[?includeDeleted=true]` → 200 `{"value":[identity...]}`;
//! - `POST /emulator/reset` → 204.

use axum::extract::Request;
use axum::response::Response;
use http::{Method, StatusCode};
use serde_json::json;

use super::handlers::{json_response, no_content};
use super::{App, percent_decode, read_body};
use crate::controls;
use crate::errors::ApiError;
use crate::faults::{FaultRule, FaultRuleJson, MAX_FAULT_RULES};

/// Whether `query` has `name=true` (name case-insensitive).
fn query_flag(query: Option<&str>, name: &str) -> bool {
    query.unwrap_or("").split('&').any(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, "true"));
        percent_decode(key, true).is_some_and(|k| k.eq_ignore_ascii_case(name))
            && percent_decode(value, true).is_some_and(|v| v.eq_ignore_ascii_case("true"))
    })
}

fn rule_not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "FaultRuleNotFound",
        format!(
            "There is no fault rule {}.",
            id.chars().take(32).collect::<String>()
        ),
    )
}

async fn add_fault(app: &App, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let body = read_body(body, &parts.headers, app.max_body_bytes).await?;
    let json: FaultRuleJson = serde_json::from_slice(&body)
        .map_err(|e| ApiError::validation(format!("The body is not a fault rule: {e}."), "body"))?;
    if json.id.is_some() {
        return Err(ApiError::validation(
            "A new fault rule cannot name its id.",
            "id",
        ));
    }
    let rule =
        FaultRule::try_from(json).map_err(|e| ApiError::validation(e.to_string(), "body"))?;
    let answer = rule.to_json();
    let id = app.controls.faults.add(rule).map_err(|_| {
        ApiError::new(
            StatusCode::CONFLICT,
            "TooManyFaultRules",
            format!("At most {MAX_FAULT_RULES} fault rules; clear some first."),
        )
    })?;
    tracing::info!(rule = id, "fault rule added");
    Ok(json_response(
        StatusCode::CREATED,
        &FaultRuleJson {
            id: Some(id),
            ..answer
        },
    ))
}

/// Serves `/emulator/{name}` and `/emulator/{name}/{id}` for the control endpoints.
pub(crate) async fn handle(
    app: &App,
    name: &str,
    id: Option<&str>,
    request: Request,
) -> Result<Response, ApiError> {
    let method = request.method().clone();
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    match id {
        None if eq(name, "faults") => match method {
            Method::GET => Ok(json_response(
                StatusCode::OK,
                &json!({ "value": app.controls.faults.list() }),
            )),
            Method::POST => add_fault(app, request).await,
            Method::DELETE => {
                app.controls.faults.clear();
                tracing::info!("fault rules cleared");
                Ok(no_content())
            }
            _ => Err(ApiError::method_not_allowed("GET, POST, DELETE")),
        },
        Some(id) if eq(name, "faults") => {
            if method != Method::DELETE {
                return Err(ApiError::method_not_allowed("DELETE"));
            }
            let number = id.parse::<u64>().map_err(|_| rule_not_found(id))?;
            if app.controls.faults.remove(number) {
                Ok(no_content())
            } else {
                Err(rule_not_found(id))
            }
        }
        None if eq(name, "identities") => {
            if method != Method::GET {
                return Err(ApiError::method_not_allowed("GET"));
            }
            let include_deleted = query_flag(request.uri().query(), "includeDeleted");
            Ok(json_response(
                StatusCode::OK,
                &json!({ "value": controls::identities(app, include_deleted) }),
            ))
        }
        None if eq(name, "reset") => {
            if method != Method::POST {
                return Err(ApiError::method_not_allowed("POST"));
            }
            controls::reset(app).await.map_err(|e| {
                tracing::error!(error = %e, "reset: write failed");
                ApiError::storage()
            })?;
            Ok(no_content())
        }
        _ => Err(ApiError::not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::query_flag;

    #[test]
    fn include_deleted_flag() {
        assert!(query_flag(Some("includeDeleted=true"), "includeDeleted"));
        assert!(query_flag(
            Some("a=1&includedeleted=TRUE"),
            "includeDeleted"
        ));
        assert!(query_flag(Some("includeDeleted"), "includeDeleted"));
        assert!(!query_flag(Some("includeDeleted=false"), "includeDeleted"));
        assert!(!query_flag(None, "includeDeleted"));
    }
}
