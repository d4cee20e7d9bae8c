//! Token-budgeted summaries of a pixel for sub-agents and new sessions. Every summary names
//! the source pixel's hash, so a sub-agent can prove which state its context came from.

use crate::canonical::to_canonical;
use crate::error::{Error, Result};
use crate::json::{Map, Value};
use crate::pixel::Pixel;
use crate::tokens::estimate_tokens;

/// How much to include: budgets of about 500, 1000, 2000 and 4000 tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Minimal,
    Compact,
    Standard,
    Full,
}

impl Level {
    pub fn parse(text: &str) -> Result<Level> {
        match text {
            "minimal" => Ok(Level::Minimal),
            "compact" => Ok(Level::Compact),
            "standard" => Ok(Level::Standard),
            "full" => Ok(Level::Full),
            other => Err(Error::argument(format!(
                "level must be minimal, compact, standard or full, got {other:?}"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Level::Minimal => "minimal",
            Level::Compact => "compact",
            Level::Standard => "standard",
            Level::Full => "full",
        }
    }

    /// The token budget of the level.
    pub fn budget(self) -> usize {
        match self {
            Level::Minimal => 500,
            Level::Compact => 1000,
            Level::Standard => 2000,
            Level::Full => 4000,
        }
    }
}

/// What a summary is for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SummaryOptions {
    pub level: Option<Level>,
    /// A task kind: terraform/ansible/infrastructure, database/query/ledger,
    /// promotion/revocation/governance, or anything else for a generic summary.
    pub for_task: Option<String>,
    /// Only these variables (all when `None`).
    pub relevant_keys: Option<Vec<String>>,
    /// A hard cap on the estimated tokens.
    pub max_tokens: Option<usize>,
}

/// A summary: its text, its estimated tokens, the source hash and what was left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub text: String,
    pub tokens: usize,
    pub source_hash: String,
    pub level: Level,
    pub focus: &'static str,
    /// Sections (or parts of them) left out to stay within the budget.
    pub omitted: Vec<String>,
}

fn focus_of(task: Option<&str>) -> &'static str {
    let t = task.unwrap_or("").to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&["terraform", "ansible", "infra"]) {
        "infrastructure"
    } else if has(&["database", "query", "ledger"]) {
        "data"
    } else if has(&["promotion", "revocation", "governance", "promote", "revoke"]) {
        "governance"
    } else {
        "generic"
    }
}

fn s(v: &Value) -> String {
    match v {
        Value::String(t) => t.clone(),
        other => to_canonical(other),
    }
}

fn field(v: &Value, k: &str) -> String {
    v.get(k).map(s).unwrap_or_else(|| "-".into())
}

/// A section: a name (reported when omitted) and its lines, in priority order.
struct Section {
    name: &'static str,
    lines: Vec<String>,
}

fn sections(p: &Pixel, level: Level, focus: &str, keys: Option<&[String]>) -> Vec<Section> {
    let view = View::of(p, keys);
    let mut out = vec![view.core()];
    out.extend(view.focus(focus));
    if level != Level::Minimal {
        out.extend(view.compact(level));
    }
    if matches!(level, Level::Standard | Level::Full) {
        out.extend(view.standard());
    }
    if level == Level::Full {
        out.push(view.full());
    }
    out
}

/// What the sections are made from: the pixel and the parts of its context they use.
struct View<'a> {
    p: &'a Pixel,
    ctx: Option<&'a Map>,
    tasks: &'a [Value],
    deps: &'a [Value],
    variables: Vec<(&'a str, &'a Value)>,
}

fn var_line((k, v): &(&str, &Value)) -> String {
    format!("{k} = {}", to_canonical(v))
}

fn dep_line(d: &Value) -> String {
    format!(
        "{} ({}): {}{}",
        field(d, "name"),
        field(d, "type"),
        field(d, "status"),
        d.get("endpoint")
            .filter(|e| !e.is_null())
            .map(|e| format!(" at {}", s(e)))
            .unwrap_or_default()
    )
}

fn names_any(name: &str, words: &[&str]) -> bool {
    let name = name.to_ascii_lowercase();
    words.iter().any(|w| name.contains(w))
}

impl<'a> View<'a> {
    fn of(p: &'a Pixel, keys: Option<&[String]>) -> View<'a> {
        let ctx = p.context();
        let arr = |k: &str| {
            ctx.and_then(|c| c.get(k))
                .and_then(Value::as_array)
                .unwrap_or(&[])
        };
        let variables = ctx
            .and_then(|c| c.get("variables"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| keys.is_none_or(|ks| ks.iter().any(|x| x == k)))
                    .collect()
            })
            .unwrap_or_default();
        View {
            p,
            ctx,
            tasks: arr("tasks"),
            deps: arr("dependencies"),
            variables,
        }
    }

    fn get(&self, k: &str) -> Option<&'a Value> {
        self.ctx.and_then(|c| c.get(k))
    }

    /// Corridor, phase, active task, agent and tier, available dependencies.
    fn core(&self) -> Section {
        let p = self.p;
        let mut lines = vec![format!("corridor {} (seq {})", p.corridor(), p.seq())];
        if let Some(ph) = self.get("phase").filter(|v| !v.is_null()) {
            lines.push(format!(
                "phase: {} [{}]",
                field(ph, "name"),
                field(ph, "status")
            ));
        }
        if let Some(a) = self.get("activeTaskId").filter(|v| !v.is_null()) {
            let subject = self
                .tasks
                .iter()
                .find(|t| t.get("id") == Some(a))
                .map(|t| field(t, "subject"))
                .unwrap_or_default();
            lines.push(format!("active task: {} {}", s(a), subject));
        }
        if let Some(t) = self.get("agentTier").filter(|v| !v.is_null()) {
            lines.push(format!("agent {} tier {}", p.agent_id(), s(t)));
        } else {
            lines.push(format!("agent {}", p.agent_id()));
        }
        let available: Vec<String> = self
            .deps
            .iter()
            .filter(|d| d.get("status").and_then(Value::as_str) == Some("available"))
            .map(|d| field(d, "name"))
            .collect();
        if !available.is_empty() {
            lines.push(format!("available: {}", available.join(", ")));
        }
        Section {
            name: "core",
            lines,
        }
    }

    /// The focus section: infrastructure, data or governance (none for generic).
    fn focus(&self, focus: &str) -> Option<Section> {
        match focus {
            "infrastructure" => Some(Section {
                name: "dependencies",
                lines: self.deps.iter().map(dep_line).collect(),
            }),
            "data" => {
                let data = |d: &&Value| {
                    d.get("endpoint").is_some_and(|e| !e.is_null())
                        && names_any(&field(d, "type"), &["data", "db", "sql", "ledger", "cache"])
                };
                let mut lines: Vec<String> = self.deps.iter().filter(data).map(dep_line).collect();
                let words = [
                    "db", "database", "dsn", "url", "endpoint", "ledger", "query",
                ];
                lines.extend(self.vars(&words));
                Some(Section {
                    name: "data endpoints",
                    lines,
                })
            }
            "governance" => {
                let tier = self.get("agentTier").map(s);
                let mut lines = vec![format!(
                    "agent tier: {}",
                    tier.unwrap_or_else(|| "unknown".into())
                )];
                let words = [
                    "tier", "role", "promot", "revok", "revoc", "govern", "approv", "policy",
                    "agent",
                ];
                lines.extend(self.vars(&words));
                Some(Section {
                    name: "governance",
                    lines,
                })
            }
            _ => None,
        }
    }

    /// The variables whose names contain one of `words`.
    fn vars(&self, words: &[&str]) -> Vec<String> {
        self.variables
            .iter()
            .filter(|(name, _)| names_any(name, words))
            .map(var_line)
            .collect()
    }

    /// From `compact`: tasks in progress and the pending count; variables (10 at `compact`).
    fn compact(&self, level: Level) -> [Section; 2] {
        let status = |t: &Value| t.get("status").and_then(Value::as_str).map(str::to_owned);
        let mut lines: Vec<String> = self
            .tasks
            .iter()
            .filter(|t| status(t).as_deref() == Some("in_progress"))
            .map(|t| format!("in progress: {} {}", field(t, "id"), field(t, "subject")))
            .collect();
        let pending = self
            .tasks
            .iter()
            .filter(|t| status(t).as_deref() == Some("pending"))
            .count();
        lines.push(format!("pending tasks: {pending}"));
        let limit = if level == Level::Compact {
            10
        } else {
            usize::MAX
        };
        [
            Section {
                name: "tasks in progress",
                lines,
            },
            Section {
                name: "variables",
                lines: self.variables.iter().take(limit).map(var_line).collect(),
            },
        ]
    }

    /// From `standard`: all tasks and dependencies, recent outputs, the state surface.
    fn standard(&self) -> [Section; 4] {
        let p = self.p;
        let task = |t: &Value| {
            format!(
                "task {} [{}] {}",
                field(t, "id"),
                field(t, "status"),
                field(t, "subject")
            )
        };
        let outputs = self
            .get("recentOutputs")
            .and_then(Value::as_array)
            .unwrap_or(&[]);
        let mut surface = vec![format!("autonomy {}", p.autonomy_index())];
        if !p.state_vector().is_empty() {
            surface.push(format!(
                "state vector {}",
                to_canonical(&Value::Object(p.state_vector().clone()))
            ));
        }
        if let Some(i) = p.intent_hash() {
            surface.push(format!("intent {i}"));
        }
        [
            Section {
                name: "all tasks",
                lines: self.tasks.iter().map(task).collect(),
            },
            Section {
                name: "all dependencies",
                lines: self.deps.iter().map(dep_line).collect(),
            },
            Section {
                name: "recent outputs",
                lines: outputs.iter().map(to_canonical).collect(),
            },
            Section {
                name: "surface",
                lines: surface,
            },
        ]
    }

    /// At `full`: completed phases, notes, session and state hash, every `state` member.
    fn full(&self) -> Section {
        let p = self.p;
        let mut lines = Vec::new();
        if let Some(pc) = self.get("phasesCompleted") {
            lines.push(format!("phases completed: {}", to_canonical(pc)));
        }
        if let Some(n) = self.get("notes").filter(|v| !v.is_null()) {
            lines.push(format!("notes: {}", s(n)));
        }
        lines.push(format!(
            "session {} at {} ms, stateHash {}",
            p.session_id(),
            p.timestamp_ms(),
            p.state_hash()
        ));
        lines.extend(
            p.state()
                .iter()
                .map(|(k, v)| format!("state.{k} = {}", to_canonical(v))),
        );
        Section {
            name: "full state",
            lines,
        }
    }
}

/// Summarizes a pixel within a token budget: `min(level budget, max_tokens)`.
pub fn summarize(p: &Pixel, opts: &SummaryOptions) -> Summary {
    let level = opts.level.unwrap_or(Level::Compact);
    let focus = focus_of(opts.for_task.as_deref());
    let cap = opts
        .max_tokens
        .map_or(level.budget(), |m| m.min(level.budget()));
    let hash = p.hash().to_string();
    // The header names the source; under very small caps it carries a hash prefix.
    let header_for = |hex: usize| {
        format!(
            "[tokenpixel context: source {} | {} | {}]",
            &hash[..7 + hex],
            level.name(),
            focus
        )
    };
    let mut header = header_for(64);
    for hex in [64, 32, 16, 12] {
        header = header_for(hex);
        if estimate_tokens(&header) + 8 <= cap || hex == 12 {
            break;
        }
    }
    if estimate_tokens(&header) > cap {
        header = format!("[src {}]", &hash[..19]);
    }
    let mut text = header.clone();
    let mut omitted: Vec<String> = Vec::new();
    // Room kept for the omission note.
    let reserve = 16.min(cap / 4);
    for sec in sections(p, level, focus, opts.relevant_keys.as_deref()) {
        let mut dropped = 0;
        let mut wrote_title = false;
        for line in &sec.lines {
            let title = if wrote_title {
                String::new()
            } else {
                format!("\n## {}", sec.name)
            };
            let candidate = format!("{text}{title}\n{line}");
            if estimate_tokens(&candidate) + reserve <= cap {
                text = candidate;
                wrote_title = true;
            } else {
                dropped += 1;
            }
        }
        if dropped > 0 {
            omitted.push(format!("{} ({dropped} of {})", sec.name, sec.lines.len()));
        }
    }
    if !omitted.is_empty() {
        let note = format!("\n(omitted to fit {cap} tokens: {})", omitted.join("; "));
        let short = format!("\n(omitted: {} sections)", omitted.len());
        for n in [note, short] {
            if estimate_tokens(&format!("{text}{n}")) <= cap {
                text.push_str(&n);
                break;
            }
        }
    }
    Summary {
        tokens: estimate_tokens(&text),
        text,
        source_hash: hash,
        level,
        focus,
        omitted,
    }
}

impl Summary {
    /// The JSON form: `{"text", "tokens", "sourceHash", "level", "focus", "omitted"}`.
    pub fn to_value(&self) -> Value {
        let mut m = crate::json::Map::new();
        m.insert("text", self.text.clone().into());
        m.insert(
            "tokens",
            Value::number(self.tokens as f64).unwrap_or(Value::Null),
        );
        m.insert("sourceHash", self.source_hash.clone().into());
        m.insert("level", self.level.name().into());
        m.insert("focus", self.focus.into());
        m.insert(
            "omitted",
            Value::Array(self.omitted.iter().map(|o| o.clone().into()).collect()),
        );
        Value::Object(m)
    }
}
