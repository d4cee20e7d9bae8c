//! The optional `context` of a pixel: the working context of the second seed (phase, tasks,
//! dependencies, variables, recent outputs, notes, agent tier), with its schema checks.

use crate::error::{Error, Result};
use crate::json::{Map, Value};

/// Keys a `context` object may hold; any other key is a schema violation.
pub const CONTEXT_KEYS: &[&str] = &[
    "activeTaskId",
    "agentTier",
    "dependencies",
    "notes",
    "phase",
    "phasesCompleted",
    "recentOutputs",
    "tasks",
    "variables",
];

/// The JSON type a field must have.
#[derive(Clone, Copy)]
enum Kind {
    String,
    OptString,
    NonNegInt,
    OptNonNegInt,
    StringArray,
}

fn check_kind(v: &Value, kind: Kind, path: &str) -> Result<()> {
    let ok = match kind {
        Kind::String => v.as_str().is_some(),
        Kind::OptString => v.is_null() || v.as_str().is_some(),
        Kind::NonNegInt => is_non_neg_int(v),
        Kind::OptNonNegInt => v.is_null() || is_non_neg_int(v),
        Kind::StringArray => v
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x.as_str().is_some())),
    };
    if ok {
        return Ok(());
    }
    let want = match kind {
        Kind::String => "a string",
        Kind::OptString => "a string or null",
        Kind::NonNegInt => "a non-negative integer",
        Kind::OptNonNegInt => "a non-negative integer or null",
        Kind::StringArray => "an array of strings",
    };
    Err(Error::schema(
        path,
        format!("must be {want}, got {}", describe(v)),
    ))
}

pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Number(n) => format!("number {}", n.get()),
        other => other.type_name().to_owned(),
    }
}

/// A whole number in 0 ..= 2^53 - 1, the same range as the pixel's integer fields.
fn is_non_neg_int(v: &Value) -> bool {
    v.as_f64()
        .is_some_and(|f| f >= 0.0 && f.fract() == 0.0 && f <= crate::pixel::MAX_SAFE_INTEGER as f64)
}

/// Checks an open object (list items, `phase`): `required` keys must be present, the listed
/// keys must have their kinds, other keys may hold any JSON.
fn check_item(v: &Value, path: &str, required: &[&str], fields: &[(&str, Kind)]) -> Result<()> {
    let map = v
        .as_object()
        .ok_or_else(|| Error::schema(path, format!("must be an object, got {}", describe(v))))?;
    for key in required {
        if map.get(key).is_none() {
            return Err(Error::schema(path, format!("missing required key {key:?}")));
        }
    }
    for (key, kind) in fields {
        if let Some(x) = map.get(key) {
            check_kind(x, *kind, &format!("{path}.{key}"))?;
        }
    }
    Ok(())
}

/// Checks that items of a list are objects with a unique string `key`.
fn check_list(
    v: &Value,
    path: &str,
    id_key: &str,
    required: &[&str],
    fields: &[(&str, Kind)],
) -> Result<()> {
    let items = v
        .as_array()
        .ok_or_else(|| Error::schema(path, format!("must be an array, got {}", describe(v))))?;
    let mut seen: Vec<&str> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        check_item(item, &item_path, required, fields)?;
        let id = item.get(id_key).and_then(Value::as_str).unwrap_or("");
        if seen.contains(&id) {
            return Err(Error::schema(
                format!("{item_path}.{id_key}"),
                format!("duplicate {id_key} {id:?}"),
            ));
        }
        seen.push(id);
    }
    Ok(())
}

/// Validates a pixel's `context`: `null`, or an object with only the documented keys.
pub fn validate_context(v: &Value) -> Result<()> {
    const P: &str = "$.context";
    let map: &Map = match v {
        Value::Null => return Ok(()),
        Value::Object(m) => m,
        other => {
            return Err(Error::schema(
                P,
                format!("must be an object or null, got {}", describe(other)),
            ))
        }
    };
    for key in map.keys() {
        if !CONTEXT_KEYS.contains(&key) {
            return Err(Error::schema(
                format!("{P}.{key}"),
                format!("unknown context key (allowed: {})", CONTEXT_KEYS.join(", ")),
            ));
        }
    }
    for (key, x) in map.iter() {
        let path = format!("{P}.{key}");
        match key {
            "phase" if !x.is_null() => check_item(
                x,
                &path,
                &["name"],
                &[
                    ("name", Kind::String),
                    ("number", Kind::NonNegInt),
                    ("status", Kind::String),
                    ("startedAt", Kind::OptString),
                    ("notes", Kind::OptString),
                ],
            )?,
            "phasesCompleted" => {
                let ok = x.as_array().is_some_and(|a| a.iter().all(is_non_neg_int));
                if !ok {
                    return Err(Error::schema(
                        path,
                        "must be an array of non-negative integers",
                    ));
                }
            }
            "tasks" => check_list(
                x,
                &path,
                "id",
                &["id", "status"],
                &[
                    ("id", Kind::String),
                    ("subject", Kind::String),
                    ("status", Kind::String),
                    ("owner", Kind::OptString),
                    ("blocks", Kind::StringArray),
                    ("blockedBy", Kind::StringArray),
                ],
            )?,
            "dependencies" => check_list(
                x,
                &path,
                "name",
                &["name", "status"],
                &[
                    ("name", Kind::String),
                    ("type", Kind::String),
                    ("status", Kind::String),
                    ("endpoint", Kind::OptString),
                    ("lastChecked", Kind::OptString),
                ],
            )?,
            "variables" if x.as_object().is_none() => {
                return Err(Error::schema(
                    path,
                    format!("must be an object, got {}", describe(x)),
                ));
            }
            "recentOutputs" => {
                let ok = x
                    .as_array()
                    .is_some_and(|a| a.iter().all(|o| o.as_object().is_some()));
                if !ok {
                    return Err(Error::schema(path, "must be an array of objects"));
                }
            }
            "activeTaskId" | "notes" => check_kind(x, Kind::OptString, &path)?,
            "agentTier" => check_kind(x, Kind::OptNonNegInt, &path)?,
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn check(text: &str) -> Result<()> {
        validate_context(&parse(text).unwrap())
    }

    #[test]
    fn accepts_the_seed_context() {
        check(
            r#"{"phase":{"name":"Phase 5: Agent Bootstrapping","number":5,"status":"in_progress",
            "startedAt":"2026-01-23T10:00:00+00:00","notes":"Working on checkpoint skill"},
            "phasesCompleted":[1,2,3,4],
            "tasks":[{"id":"1","subject":"Create checkpoint module","status":"completed","owner":null,"blocks":[],"blockedBy":[]}],
            "activeTaskId":"2",
            "dependencies":[{"name":"vault","type":"service","status":"available","endpoint":"https://127.0.0.1:8200","lastChecked":"2026-01-23T12:00:00+00:00"}],
            "variables":{"custom_key":"custom_value"},
            "recentOutputs":[{"type":"evidence","id":"evd-1","action":"terraform","success":true}],
            "notes":"Starting task X","agentTier":1}"#,
        )
        .unwrap();
        check("null").unwrap();
        check("{}").unwrap();
    }

    #[test]
    fn names_the_path_of_a_violation() {
        let cases = [
            (r#"{"bogus":1}"#, "$.context.bogus"),
            (r#"{"tasks":[{"id":"1"}]}"#, "$.context.tasks[0]"),
            (
                r#"{"tasks":[{"id":"1","status":"x"},{"id":"1","status":"y"}]}"#,
                "$.context.tasks[1].id",
            ),
            (
                r#"{"tasks":[{"id":"1","status":"x","blocks":[1]}]}"#,
                "$.context.tasks[0].blocks",
            ),
            (r#"{"agentTier":-1}"#, "$.context.agentTier"),
            (r#"{"phasesCompleted":[1.5]}"#, "$.context.phasesCompleted"),
            (r#"{"variables":[]}"#, "$.context.variables"),
            (r#"{"phase":{"number":1}}"#, "$.context.phase"),
            ("[]", "$.context"),
        ];
        for (text, want) in cases {
            match check(text).unwrap_err() {
                Error::SchemaViolation { path, .. } => assert_eq!(path, want, "{text}"),
                e => panic!("{e:?}"),
            }
        }
    }
}
