//! Reading request bodies by hand, so every malformed input gets the service's error shape.

use serde_json::{Map, Value};

use crate::errors::ApiError;

/// A body parsed as a JSON object. `Ok(None)` for an empty (or whitespace-only) body.
pub(crate) fn object(body: &[u8]) -> Result<Option<Map<String, Value>>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::validation("The request body is not valid UTF-8 JSON.", "body"))?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Err(ApiError::validation(
            "The request body must be a JSON object.",
            "body",
        )),
        Err(e) => Err(ApiError::validation(
            format!("The request body is not valid JSON: {e}."),
            "body",
        )),
    }
}

/// A field, looked up case-insensitively as ASP.NET does (exact name first).
pub(crate) fn field<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The error for a field of the wrong JSON type.
pub(crate) fn type_error(field: &str, expected: &str) -> ApiError {
    ApiError::validation(
        format!("The JSON value could not be converted to {expected}. Path: $.{field}"),
        field,
    )
}

/// A field that must be an array of strings when present and not null (the strings borrowed).
pub(crate) fn string_array<'a>(value: &'a Value, field: &str) -> Result<Vec<&'a str>, ApiError> {
    let Value::Array(items) = value else {
        return Err(type_error(field, "an array of strings"));
    };
    items
        .iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| type_error(field, "an array of strings"))
        })
        .collect()
}

/// An optional 32-bit integer field (absent or null: `None`).
pub(crate) fn optional_i32(
    map: &Map<String, Value>,
    field_name: &str,
) -> Result<Option<i64>, ApiError> {
    match field(map, field_name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) if i32::try_from(i).is_ok() => Ok(Some(i)),
            _ => Err(type_error(field_name, "System.Int32")),
        },
        Some(_) => Err(type_error(field_name, "System.Int32")),
    }
}

/// A required field: absent or null, the error of [`missing`].
pub(crate) fn required<'a>(
    map: &'a Map<String, Value>,
    field_name: &str,
) -> Result<&'a Value, ApiError> {
    field(map, field_name)
        .filter(|v| !v.is_null())
        .ok_or_else(|| missing(field_name))
}

/// The error for a missing required field: `The X field is required.` (target `X` with a capital
/// first letter, as the service names model fields).
pub(crate) fn missing(field_name: &str) -> ApiError {
    let model_name = capitalize(field_name);
    ApiError::validation(
        format!("{model_name}: The {model_name} field is required."),
        &model_name,
    )
}

/// A required string field.
pub(crate) fn required_string<'a>(
    map: &'a Map<String, Value>,
    field_name: &str,
) -> Result<&'a str, ApiError> {
    required(map, field_name)?
        .as_str()
        .ok_or_else(|| type_error(field_name, "System.String"))
}

pub(crate) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_and_errors() {
        assert!(object(b"").unwrap().is_none());
        assert!(object(b"  \n").unwrap().is_none());
        assert!(object(b"{}").unwrap().unwrap().is_empty());
        for bad in [
            &b"[]"[..],
            b"3",
            b"\"x\"",
            b"{",
            b"{\"a\":}",
            b"\xff\xfe",
            b"null",
        ] {
            let e = object(bad).unwrap_err();
            assert_eq!(e.status, 400, "{bad:?}");
            assert_eq!(e.body.code, "ValidationError");
        }
    }

    #[test]
    fn fields() {
        let m = object(br#"{"Scopes":["a"],"n":61,"f":1.5,"big":99999999999,"s":"x","nul":null}"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            string_array(field(&m, "scopes").unwrap(), "scopes").unwrap(),
            vec!["a"]
        );
        assert_eq!(optional_i32(&m, "n").unwrap(), Some(61));
        assert!(optional_i32(&m, "f").is_err());
        assert!(optional_i32(&m, "big").is_err());
        assert!(optional_i32(&m, "s").is_err());
        assert_eq!(optional_i32(&m, "nul").unwrap(), None);
        assert_eq!(optional_i32(&m, "absent").unwrap(), None);
        let e = required_string(&m, "token").unwrap_err();
        assert_eq!(e.body.message, "Token: The Token field is required.");
        assert_eq!(e.body.target.as_deref(), Some("Token"));
        assert_eq!(required_string(&m, "s").unwrap(), "x");
    }
}
