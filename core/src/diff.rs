//! What changed between two pixels (or across a range), tied to the hashes of both ends.
//! The result is a JSON value (its shape is in docs/SPEC.md) with a rendering for people.

use crate::canonical::to_canonical;
use crate::error::{Error, Result};
use crate::json::{host, Map, Value};
use crate::pixel::Pixel;

/// A structured diff; `value()` is its JSON form, `render()` the text for people.
#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    value: Value,
}

fn obj(members: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in members {
        m.insert(k, v);
    }
    Value::Object(m)
}

fn num(x: f64) -> Value {
    Value::number(x).unwrap_or(Value::Null)
}

fn opt_str(s: Option<&str>) -> Value {
    s.map_or(Value::Null, Value::from)
}

fn endpoint(p: &Pixel) -> Value {
    obj(vec![
        ("seq", num(p.seq() as f64)),
        ("hash", p.hash().to_string().into()),
        ("corridor", p.corridor().as_str().into()),
        ("timestampMs", num(p.timestamp_ms() as f64)),
        ("stateHash", p.state_hash().to_string().into()),
    ])
}

fn from_to(a: Value, b: Value) -> Value {
    if a == b {
        Value::Null
    } else {
        obj(vec![("from", a), ("to", b)])
    }
}

/// JSON-path changes between two values: objects by key, arrays by index.
fn json_changes(path: &str, a: &Value, b: &Value, out: &mut Vec<Value>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x.iter() {
                let p = host::member(path, k);
                match y.get(k) {
                    Some(vb) => json_changes(&p, va, vb, out),
                    None => out.push(obj(vec![
                        ("path", p.into()),
                        ("change", "removed".into()),
                        ("old", va.clone()),
                    ])),
                }
            }
            for (k, vb) in y.iter() {
                if x.get(k).is_none() {
                    out.push(obj(vec![
                        ("path", host::member(path, k).into()),
                        ("change", "added".into()),
                        ("new", vb.clone()),
                    ]));
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                let p = host::item(path, i);
                match (x.get(i), y.get(i)) {
                    (Some(va), Some(vb)) => json_changes(&p, va, vb, out),
                    (Some(va), None) => out.push(obj(vec![
                        ("path", p.into()),
                        ("change", "removed".into()),
                        ("old", va.clone()),
                    ])),
                    (None, Some(vb)) => out.push(obj(vec![
                        ("path", p.into()),
                        ("change", "added".into()),
                        ("new", vb.clone()),
                    ])),
                    (None, None) => {}
                }
            }
        }
        _ if a != b => out.push(obj(vec![
            ("path", path.into()),
            ("change", "changed".into()),
            ("old", a.clone()),
            ("new", b.clone()),
        ])),
        _ => {}
    }
}

/// Items of a context list keyed by `key` (tasks by id, dependencies by name).
fn keyed<'a>(ctx: Option<&'a Map>, list: &str, key: &str) -> Vec<(&'a str, &'a Value)> {
    ctx.and_then(|c| c.get(list))
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.get(key).and_then(Value::as_str).map(|k| (k, i)))
                .collect()
        })
        .unwrap_or_default()
}

fn context_diff(a: Option<&Map>, b: Option<&Map>) -> Value {
    let get = |c: Option<&Map>, k: &str| c.and_then(|m| m.get(k)).cloned().unwrap_or(Value::Null);
    let (tasks_added, tasks_removed, task_status) = task_changes(a, b);
    let (added, changed, removed) = variable_changes(&get(a, "variables"), &get(b, "variables"));
    let phase_key = |c: Option<&Map>| {
        let p = get(c, "phase");
        if p.is_null() {
            Value::Null
        } else {
            obj(vec![
                ("name", field(&p, "name")),
                ("number", field(&p, "number")),
                ("status", field(&p, "status")),
            ])
        }
    };
    obj(vec![
        ("phase", from_to(phase_key(a), phase_key(b))),
        (
            "phasesCompleted",
            from_to(get(a, "phasesCompleted"), get(b, "phasesCompleted")),
        ),
        (
            "activeTaskId",
            from_to(get(a, "activeTaskId"), get(b, "activeTaskId")),
        ),
        ("tasksAdded", Value::Array(tasks_added)),
        ("tasksRemoved", Value::Array(tasks_removed)),
        ("taskStatus", Value::Array(task_status)),
        ("dependencies", Value::Array(dependency_changes(a, b))),
        ("variablesAdded", Value::Array(added)),
        ("variablesChanged", Value::Array(changed)),
        ("variablesRemoved", Value::Array(removed)),
        ("notes", from_to(get(a, "notes"), get(b, "notes"))),
        (
            "agentTier",
            from_to(get(a, "agentTier"), get(b, "agentTier")),
        ),
    ])
}

/// Tasks added, removed, and whose status changed (by `id`).
fn task_changes(a: Option<&Map>, b: Option<&Map>) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let (ta, tb) = (keyed(a, "tasks", "id"), keyed(b, "tasks", "id"));
    let brief = |t: &Value| {
        obj(vec![
            ("id", field(t, "id")),
            ("subject", field(t, "subject")),
            ("status", field(t, "status")),
        ])
    };
    let added = tb
        .iter()
        .filter(|(id, _)| !ta.iter().any(|(x, _)| x == id))
        .map(|(_, t)| brief(t))
        .collect();
    let removed = ta
        .iter()
        .filter(|(id, _)| !tb.iter().any(|(x, _)| x == id))
        .map(|(_, t)| brief(t))
        .collect();
    let status = tb
        .iter()
        .filter_map(|(id, t)| {
            let (_, old) = ta.iter().find(|(x, _)| x == id)?;
            let (s0, s1) = (field(old, "status"), field(t, "status"));
            (s0 != s1).then(|| obj(vec![("id", (*id).into()), ("from", s0), ("to", s1)]))
        })
        .collect();
    (added, removed, status)
}

/// Dependencies whose status changed (by `name`; null for one added or removed).
fn dependency_changes(a: Option<&Map>, b: Option<&Map>) -> Vec<Value> {
    let (da, db) = (
        keyed(a, "dependencies", "name"),
        keyed(b, "dependencies", "name"),
    );
    let mut names: Vec<&str> = da.iter().chain(db.iter()).map(|(n, _)| *n).collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .filter_map(|n| {
            let s = |d: &[(&str, &Value)]| {
                d.iter()
                    .find(|(x, _)| *x == n)
                    .map_or(Value::Null, |(_, v)| field(v, "status"))
            };
            let (s0, s1) = (s(&da), s(&db));
            (s0 != s1).then(|| obj(vec![("name", n.into()), ("from", s0), ("to", s1)]))
        })
        .collect()
}

/// Variables added, changed and removed, in key order.
fn variable_changes(va: &Value, vb: &Value) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let empty = Map::new();
    let (va, vb) = (
        va.as_object().unwrap_or(&empty),
        vb.as_object().unwrap_or(&empty),
    );
    let mut added = Vec::new();
    let mut changed = Vec::new();
    let mut removed = Vec::new();
    for (k, v) in vb.iter() {
        match va.get(k) {
            None => added.push(obj(vec![("key", k.into()), ("value", v.clone())])),
            Some(old) if old != v => changed.push(obj(vec![
                ("key", k.into()),
                ("old", old.clone()),
                ("new", v.clone()),
            ])),
            _ => {}
        }
    }
    for (k, v) in va.iter() {
        if vb.get(k).is_none() {
            removed.push(obj(vec![("key", k.into()), ("old", v.clone())]));
        }
    }
    (added, changed, removed)
}

/// The diff between two pixels (`a` earlier, `b` later).
pub fn diff(a: &Pixel, b: &Pixel) -> Diff {
    build(a, b, Vec::new())
}

/// The diff between the first and last of `pixels`, listing every corridor crossed in order
/// (consecutive repeats folded).
pub fn diff_range(pixels: &[Pixel]) -> Result<Diff> {
    let (Some(first), Some(last)) = (pixels.first(), pixels.last()) else {
        return Err(Error::argument("a range diff needs at least one pixel"));
    };
    let mut crossed: Vec<Value> = Vec::new();
    for p in pixels {
        let c: Value = p.corridor().as_str().into();
        if crossed.last() != Some(&c) {
            crossed.push(c);
        }
    }
    Ok(build(first, last, crossed))
}

fn build(a: &Pixel, b: &Pixel, crossed: Vec<Value>) -> Diff {
    let mut names: Vec<&str> = a
        .state_vector()
        .keys()
        .chain(b.state_vector().keys())
        .collect();
    names.sort_unstable_by(|x, y| crate::json::cmp_utf16(x, y));
    names.dedup();
    let vector: Vec<Value> = names
        .into_iter()
        .filter_map(|n| {
            let (x, y) = (a.state_vector().get(n), b.state_vector().get(n));
            if x == y {
                return None;
            }
            let delta = match (x.and_then(Value::as_f64), y.and_then(Value::as_f64)) {
                (Some(x), Some(y)) => num(y - x),
                _ => Value::Null,
            };
            Some(obj(vec![
                ("name", n.into()),
                ("from", x.cloned().unwrap_or(Value::Null)),
                ("to", y.cloned().unwrap_or(Value::Null)),
                ("delta", delta),
            ]))
        })
        .collect();
    let autonomy = if a.autonomy_index() == b.autonomy_index() {
        Value::Null
    } else {
        obj(vec![
            ("from", num(a.autonomy_index())),
            ("to", num(b.autonomy_index())),
            ("delta", num(b.autonomy_index() - a.autonomy_index())),
        ])
    };
    let mut state = Vec::new();
    json_changes(
        "$.state",
        &Value::Object(a.state().clone()),
        &Value::Object(b.state().clone()),
        &mut state,
    );
    let corridor = from_to(a.corridor().as_str().into(), b.corridor().as_str().into());
    Diff {
        value: obj(vec![
            ("from", endpoint(a)),
            ("to", endpoint(b)),
            ("sameState", Value::Bool(a.state_hash() == b.state_hash())),
            ("corridor", corridor),
            ("crossed", Value::Array(crossed)),
            ("stateVector", Value::Array(vector)),
            ("autonomyIndex", autonomy),
            (
                "intentHash",
                from_to(opt_str(a.intent_hash()), opt_str(b.intent_hash())),
            ),
            ("state", Value::Array(state)),
            ("context", context_diff(a.context(), b.context())),
        ]),
    }
}

impl Diff {
    /// The JSON form.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// A rendering for people, one change per line.
    pub fn render(&self) -> String {
        let v = &self.value;
        let mut out = String::new();
        render_ends(&mut out, v);
        render_surface(&mut out, v);
        render_state(&mut out, v);
        render_context(&mut out, &field(v, "context"));
        out
    }
}

// --- the text rendering of a diff's JSON form (one change per line) ---------------------------

/// A string as itself, anything else in canonical JSON.
fn text(x: &Value) -> String {
    match x {
        Value::String(t) => t.clone(),
        other => to_canonical(other),
    }
}

fn field(x: &Value, k: &str) -> Value {
    x.get(k).cloned().unwrap_or(Value::Null)
}

fn items(x: &Value, k: &str) -> Vec<Value> {
    x.get(k).and_then(Value::as_array).unwrap_or(&[]).to_vec()
}

/// `diff seq A -> seq B` and the two hashes.
fn render_ends(out: &mut String, v: &Value) {
    let (from, to) = (field(v, "from"), field(v, "to"));
    out.push_str(&format!(
        "diff seq {} -> seq {}\n  from {}\n  to   {}\n",
        text(&field(&from, "seq")),
        text(&field(&to, "seq")),
        text(&field(&from, "hash")),
        text(&field(&to, "hash"))
    ));
}

/// Corridor, corridors crossed, same state, state vector, autonomy and intent.
fn render_surface(out: &mut String, v: &Value) {
    let c = field(v, "corridor");
    if !c.is_null() {
        out.push_str(&format!(
            "corridor: {} -> {}\n",
            text(&field(&c, "from")),
            text(&field(&c, "to"))
        ));
    }
    let crossed = items(v, "crossed");
    if !crossed.is_empty() {
        let names: Vec<String> = crossed.iter().map(text).collect();
        out.push_str(&format!("crossed: {}\n", names.join(" -> ")));
    }
    if v.get("sameState") == Some(&Value::Bool(true)) {
        out.push_str("state: unchanged (same stateHash)\n");
    }
    for d in items(v, "stateVector") {
        out.push_str(&format!(
            "stateVector.{}: {} -> {} (delta {})\n",
            text(&field(&d, "name")),
            text(&field(&d, "from")),
            text(&field(&d, "to")),
            text(&field(&d, "delta"))
        ));
    }
    for (k, label) in [("autonomyIndex", "autonomy"), ("intentHash", "intent")] {
        let x = field(v, k);
        if !x.is_null() {
            out.push_str(&format!(
                "{label}: {} -> {}\n",
                text(&field(&x, "from")),
                text(&field(&x, "to"))
            ));
        }
    }
}

/// One line per `$.state` change: `+` added, `-` removed, `~` changed.
fn render_state(out: &mut String, v: &Value) {
    for ch in items(v, "state") {
        let path = text(&field(&ch, "path"));
        let (old, new) = (
            to_canonical(&field(&ch, "old")),
            to_canonical(&field(&ch, "new")),
        );
        let line = match text(&field(&ch, "change")).as_str() {
            "added" => format!("+ {path} = {new}"),
            "removed" => format!("- {path} (was {old})"),
            _ => format!("~ {path}: {old} -> {new}"),
        };
        out.push_str(&line);
        out.push('\n');
    }
}

/// The context's semantic changes: phase and scalars, tasks, dependencies, variables.
fn render_context(out: &mut String, ctx: &Value) {
    for (k, label) in [
        ("phase", "phase"),
        ("activeTaskId", "active task"),
        ("notes", "notes"),
        ("agentTier", "agent tier"),
        ("phasesCompleted", "phases completed"),
    ] {
        let x = field(ctx, k);
        if !x.is_null() {
            out.push_str(&format!(
                "{label}: {} -> {}\n",
                to_canonical(&field(&x, "from")),
                to_canonical(&field(&x, "to"))
            ));
        }
    }
    render_tasks(out, ctx);
    render_variables(out, ctx);
}

fn render_tasks(out: &mut String, ctx: &Value) {
    for t in items(ctx, "tasksAdded") {
        out.push_str(&format!(
            "task added: {} {} [{}]\n",
            text(&field(&t, "id")),
            text(&field(&t, "subject")),
            text(&field(&t, "status"))
        ));
    }
    for t in items(ctx, "tasksRemoved") {
        out.push_str(&format!(
            "task removed: {} {}\n",
            text(&field(&t, "id")),
            text(&field(&t, "subject"))
        ));
    }
    for t in items(ctx, "taskStatus") {
        out.push_str(&format!(
            "task {}: {} -> {}\n",
            text(&field(&t, "id")),
            text(&field(&t, "from")),
            text(&field(&t, "to"))
        ));
    }
    for d in items(ctx, "dependencies") {
        out.push_str(&format!(
            "dependency {}: {} -> {}\n",
            text(&field(&d, "name")),
            text(&field(&d, "from")),
            text(&field(&d, "to"))
        ));
    }
}

fn render_variables(out: &mut String, ctx: &Value) {
    for x in items(ctx, "variablesAdded") {
        out.push_str(&format!(
            "variable added: {} = {}\n",
            text(&field(&x, "key")),
            to_canonical(&field(&x, "value"))
        ));
    }
    for x in items(ctx, "variablesChanged") {
        out.push_str(&format!(
            "variable changed: {}: {} -> {}\n",
            text(&field(&x, "key")),
            to_canonical(&field(&x, "old")),
            to_canonical(&field(&x, "new"))
        ));
    }
    for x in items(ctx, "variablesRemoved") {
        out.push_str(&format!(
            "variable removed: {} (was {})\n",
            text(&field(&x, "key")),
            to_canonical(&field(&x, "old"))
        ));
    }
}
