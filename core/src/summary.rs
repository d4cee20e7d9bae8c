//! Token-budgeted summaries of a pixel for sub-agents and new sessions. Every summary names
//! the source pixel's hash, so a sub-agent can prove which state its context came from.

use crate::canonical::to_canonical;
use crate::error::{Error, Result};
use crate::json::Value;
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
    let ctx = p.context();
    let get = |k: &str| ctx.and_then(|c| c.get(k));
    let arr = |k: &str| get(k).and_then(Value::as_array).unwrap_or(&[]);
    let deps = arr("dependencies");
    let tasks = arr("tasks");
    let mut out = Vec::new();

    let mut core_lines = vec![format!("corridor {} (seq {})", p.corridor(), p.seq())];
    if let Some(ph) = get("phase").filter(|v| !v.is_null()) {
        core_lines.push(format!(
            "phase: {} [{}]",
            field(ph, "name"),
            field(ph, "status")
        ));
    }
    if let Some(a) = get("activeTaskId").filter(|v| !v.is_null()) {
        let subject = tasks
            .iter()
            .find(|t| t.get("id") == Some(a))
            .map(|t| field(t, "subject"))
            .unwrap_or_default();
        core_lines.push(format!("active task: {} {}", s(a), subject));
    }
    if let Some(t) = get("agentTier").filter(|v| !v.is_null()) {
        core_lines.push(format!("agent {} tier {}", p.agent_id(), s(t)));
    } else {
        core_lines.push(format!("agent {}", p.agent_id()));
    }
    let available: Vec<String> = deps
        .iter()
        .filter(|d| d.get("status").and_then(Value::as_str) == Some("available"))
        .map(|d| field(d, "name"))
        .collect();
    if !available.is_empty() {
        core_lines.push(format!("available: {}", available.join(", ")));
    }
    out.push(Section {
        name: "core",
        lines: core_lines,
    });

    let variables: Vec<(&str, &Value)> = get("variables")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(k, _)| keys.is_none_or(|ks| ks.iter().any(|x| x == k)))
                .collect()
        })
        .unwrap_or_default();
    let var_line = |(k, v): &(&str, &Value)| format!("{k} = {}", to_canonical(v));

    let dep_line = |d: &Value| {
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
    };
    match focus {
        "infrastructure" => out.push(Section {
            name: "dependencies",
            lines: deps.iter().map(dep_line).collect(),
        }),
        "data" => {
            let data = |d: &&Value| {
                let t = field(d, "type").to_ascii_lowercase();
                d.get("endpoint").is_some_and(|e| !e.is_null())
                    && (t.contains("data")
                        || t.contains("db")
                        || t.contains("sql")
                        || t.contains("ledger")
                        || t.contains("cache"))
            };
            let mut lines: Vec<String> = deps.iter().filter(data).map(dep_line).collect();
            let k = |k: &str| {
                [
                    "db", "database", "dsn", "url", "endpoint", "ledger", "query",
                ]
                .iter()
                .any(|w| k.to_ascii_lowercase().contains(w))
            };
            lines.extend(variables.iter().filter(|(name, _)| k(name)).map(var_line));
            out.push(Section {
                name: "data endpoints",
                lines,
            });
        }
        "governance" => {
            let mut lines = vec![format!(
                "agent tier: {}",
                get("agentTier").map(s).unwrap_or_else(|| "unknown".into())
            )];
            let k = |k: &str| {
                [
                    "tier", "role", "promot", "revok", "revoc", "govern", "approv", "policy",
                    "agent",
                ]
                .iter()
                .any(|w| k.to_ascii_lowercase().contains(w))
            };
            lines.extend(variables.iter().filter(|(name, _)| k(name)).map(var_line));
            out.push(Section {
                name: "governance",
                lines,
            });
        }
        _ => {}
    }

    if level != Level::Minimal {
        let in_progress: Vec<String> = tasks
            .iter()
            .filter(|t| t.get("status").and_then(Value::as_str) == Some("in_progress"))
            .map(|t| format!("in progress: {} {}", field(t, "id"), field(t, "subject")))
            .collect();
        let pending = tasks
            .iter()
            .filter(|t| t.get("status").and_then(Value::as_str) == Some("pending"))
            .count();
        let mut lines = in_progress;
        lines.push(format!("pending tasks: {pending}"));
        out.push(Section {
            name: "tasks in progress",
            lines,
        });
        let limit = if level == Level::Compact {
            10
        } else {
            usize::MAX
        };
        out.push(Section {
            name: "variables",
            lines: variables.iter().take(limit).map(var_line).collect(),
        });
    }
    if matches!(level, Level::Standard | Level::Full) {
        out.push(Section {
            name: "all tasks",
            lines: tasks
                .iter()
                .map(|t| {
                    format!(
                        "task {} [{}] {}",
                        field(t, "id"),
                        field(t, "status"),
                        field(t, "subject")
                    )
                })
                .collect(),
        });
        out.push(Section {
            name: "all dependencies",
            lines: deps.iter().map(dep_line).collect(),
        });
        out.push(Section {
            name: "recent outputs",
            lines: arr("recentOutputs").iter().map(to_canonical).collect(),
        });
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
        out.push(Section {
            name: "surface",
            lines: surface,
        });
    }
    if level == Level::Full {
        let mut lines = Vec::new();
        if let Some(pc) = get("phasesCompleted") {
            lines.push(format!("phases completed: {}", to_canonical(pc)));
        }
        if let Some(n) = get("notes").filter(|v| !v.is_null()) {
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
        out.push(Section {
            name: "full state",
            lines,
        });
    }
    out
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
