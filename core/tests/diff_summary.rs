//! Diff between pixels and token-budgeted summaries.

mod support;

use proptest::prelude::*;
use support::*;
use tokenpixel_core::{
    diff, diff_range, estimate_tokens, summarize, Chain, Emit, Level, Pixel, SummaryOptions, Value,
};

fn pixels() -> Vec<Pixel> {
    emit_lines("agent-7", "session-1", &sample_steps())
        .iter()
        .map(|l| Pixel::from_json(l).unwrap())
        .collect()
}

fn arr<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k).and_then(Value::as_array).unwrap_or(&[])
}

#[test]
fn diff_reports_corridor_vector_state_and_context() {
    let ps = pixels();
    let d = diff(&ps[1], &ps[3]);
    let v = d.value();
    assert_eq!(
        v.get("from").unwrap().get("hash").unwrap().as_str(),
        Some(ps[1].hash().to_string().as_str())
    );
    assert_eq!(
        v.get("to").unwrap().get("hash").unwrap().as_str(),
        Some(ps[3].hash().to_string().as_str())
    );
    let c = v.get("corridor").unwrap();
    assert_eq!(
        c.get("from").unwrap().as_str(),
        Some("DISTRICT_1.CHAMBER_0.NODE_POST")
    );
    assert_eq!(
        c.get("to").unwrap().as_str(),
        Some("DISTRICT_2.CHAMBER_LORA.NODE_POST")
    );
    let psi = arr(v, "stateVector")
        .iter()
        .find(|x| x.get("name").unwrap().as_str() == Some("psi"))
        .unwrap();
    assert_eq!(psi.get("delta").unwrap().as_f64(), Some(-0.0625));
    assert!(arr(v, "state")
        .iter()
        .any(|x| x.get("path").unwrap().as_str() == Some("$.state.district")));
    let ctx = v.get("context").unwrap();
    assert!(arr(ctx, "variablesChanged")
        .iter()
        .any(|x| x.get("key").unwrap().as_str() == Some("district")));
    assert!(!ctx.get("phase").unwrap().is_null());
    assert!(arr(ctx, "tasksAdded")
        .iter()
        .any(|t| t.get("id").unwrap().as_str() == Some("2")));
    let text = d.render();
    assert!(
        text.contains(
            "corridor: DISTRICT_1.CHAMBER_0.NODE_POST -> DISTRICT_2.CHAMBER_LORA.NODE_POST"
        ),
        "{text}"
    );
    assert!(
        text.contains("variable changed: district: 1 -> 2"),
        "{text}"
    );
    // Dependency status change between districts 3 and 4.
    let d = diff(&ps[5], &ps[7]);
    assert!(
        d.render()
            .contains("dependency vault: available -> degraded"),
        "{}",
        d.render()
    );
    // Same state: flagged.
    let d = diff(&ps[0], &ps[0]);
    assert_eq!(d.value().get("sameState"), Some(&Value::Bool(true)));
    assert!(arr(d.value(), "state").is_empty());
}

#[test]
fn range_diff_lists_corridors_crossed() {
    let ps = pixels();
    let d = diff_range(&ps).unwrap();
    let crossed: Vec<&str> = arr(d.value(), "crossed")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(crossed.len(), 10);
    assert_eq!(crossed[0], "DISTRICT_1.CHAMBER_0.NODE_PRE");
    assert!(d
        .render()
        .contains("crossed: DISTRICT_1.CHAMBER_0.NODE_PRE -> DISTRICT_1.CHAMBER_0.NODE_POST"));
    assert!(diff_range(&[]).is_err());
}

#[test]
fn json_paths_for_nested_state_changes() {
    let mut chain = Chain::new("a", "s").unwrap();
    let mut e = Emit::new("DISTRICT_1.CHAMBER_0.NODE_PRE", T0);
    e.state = Some(json(r#"{"a":{"b":[1,2,3],"gone":true},"x y":1}"#));
    let a = chain.emit(e).unwrap().clone();
    let mut e = Emit::new("DISTRICT_1.CHAMBER_0.NODE_POST", T0);
    e.state = Some(json(r#"{"a":{"b":[1,5],"new":null},"x y":2}"#));
    let b = chain.emit(e).unwrap().clone();
    let d = diff(&a, &b);
    let changes: Vec<String> = arr(d.value(), "state")
        .iter()
        .map(tokenpixel_core::to_canonical)
        .collect();
    assert_eq!(
        changes,
        [
            r#"{"change":"changed","new":5,"old":2,"path":"$.state.a.b[1]"}"#,
            r#"{"change":"removed","old":3,"path":"$.state.a.b[2]"}"#,
            r#"{"change":"removed","old":true,"path":"$.state.a.gone"}"#,
            r#"{"change":"added","new":null,"path":"$.state.a.new"}"#,
            r#"{"change":"changed","new":2,"old":1,"path":"$.state[\"x y\"]"}"#,
        ]
    );
}

#[test]
fn summaries_follow_level_focus_keys_and_cap() {
    let ps = pixels();
    let p = &ps[7];
    let hash = p.hash().to_string();
    for level in [Level::Minimal, Level::Compact, Level::Standard, Level::Full] {
        let s = summarize(
            p,
            &SummaryOptions {
                level: Some(level),
                ..Default::default()
            },
        );
        assert!(s.text.contains(&hash), "{}", s.text);
        assert!(s.tokens <= level.budget());
        assert_eq!(s.tokens, estimate_tokens(&s.text));
    }
    let full = summarize(
        p,
        &SummaryOptions {
            level: Some(Level::Full),
            ..Default::default()
        },
    );
    let minimal = summarize(
        p,
        &SummaryOptions {
            level: Some(Level::Minimal),
            ..Default::default()
        },
    );
    assert!(full.text.len() > minimal.text.len());
    assert!(full.text.contains("state.district = 4"));
    let infra = summarize(
        p,
        &SummaryOptions {
            for_task: Some("terraform".into()),
            ..Default::default()
        },
    );
    assert_eq!(infra.focus, "infrastructure");
    assert!(
        infra
            .text
            .contains("## dependencies\nvault (service): degraded"),
        "{}",
        infra.text
    );
    let gov = summarize(
        p,
        &SummaryOptions {
            for_task: Some("promotion".into()),
            ..Default::default()
        },
    );
    assert_eq!(gov.focus, "governance");
    assert!(gov.text.contains("agent tier: 1"));
    let keys = summarize(
        p,
        &SummaryOptions {
            relevant_keys: Some(vec!["target_env".into()]),
            ..Default::default()
        },
    );
    assert!(keys.text.contains("target_env = \"staging\"") && !keys.text.contains("district = "));
    let tiny = summarize(
        p,
        &SummaryOptions {
            level: Some(Level::Full),
            max_tokens: Some(40),
            ..Default::default()
        },
    );
    assert!(tiny.tokens <= 40 && !tiny.omitted.is_empty(), "{tiny:?}");
    assert!(tiny.text.contains(&hash[..19]));
    // Same pixel, same text.
    assert_eq!(
        summarize(p, &SummaryOptions::default()),
        summarize(p, &SummaryOptions::default())
    );
    assert!(Level::parse("huge").is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn summary_stays_within_any_cap_and_names_its_source(k in 0usize..10, cap in 20usize..4000, level in 0usize..4, task in prop::sample::select(vec!["", "terraform", "ledger", "governance", "other"])) {
        let ps = pixels();
        let p = &ps[k];
        let level = [Level::Minimal, Level::Compact, Level::Standard, Level::Full][level];
        let s = summarize(p, &SummaryOptions { level: Some(level), for_task: Some(task.into()), max_tokens: Some(cap), relevant_keys: None });
        prop_assert!(s.tokens <= cap, "{} > {cap}: {}", s.tokens, s.text);
        prop_assert_eq!(s.tokens, estimate_tokens(&s.text));
        prop_assert_eq!(&s.source_hash, &p.hash().to_string());
        let prefix = &s.source_hash[..19];
        prop_assert!(s.text.contains(prefix));
    }
}
