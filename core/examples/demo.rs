//! The sample agent pipeline: an agent walks the five districts of a CI/CD run (ingestion,
//! LoRA bias, routing, execution, deployment), emitting a pre and a post pixel at each, writes
//! them to `.checkpoints/pixels_<agent>.jsonl`, verifies the file and prints a summary.
//!
//! `cargo run -p tokenpixel-core --example demo [-- DIR]`

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use tokenpixel_core::{parse, Chain, Emit, JsonlVerifier, Pixel, Value};

const AGENT: &str = "demo-agent";

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn json(text: &str) -> Value {
    parse(text).expect("demo JSON")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| ".checkpoints".into());
    fs::create_dir_all(&dir)?;
    let path = format!("{dir}/pixels_{AGENT}.jsonl");
    // A fresh run each time, so the demo is repeatable.
    let mut file = File::create(&path)?;
    let session = format!("run-{}", now_ms());
    let mut chain = Chain::new(AGENT, &session)?;

    let districts = [
        ("DISTRICT_1", "CHAMBER_0", "ingest documents"),
        ("DISTRICT_2", "CHAMBER_LORA", "apply LoRA bias"),
        ("DISTRICT_3", "CHAMBER_ROUTER", "route intent"),
        ("DISTRICT_4", "CHAMBER_EXEC", "execute task"),
        ("DISTRICT_5", "CHAMBER_DEPLOY", "deploy artifact"),
    ];
    let mut psi = 1.0_f64;
    let mut documents: Vec<String> = Vec::new();
    for (i, (district, chamber, what)) in districts.iter().enumerate() {
        let d = i + 1;
        let mut pre = Emit::new(
            format!("{district}.{chamber}.NODE_PRE"),
            chain.timestamp_for(now_ms()),
        );
        if d == 1 {
            pre.state = Some(json(r#"{"documents":[],"deployments":[]}"#));
            pre.state_vector = Some(json(r#"{"psi":1,"omega":0}"#));
            pre.autonomy_index = Some(0.5);
        }
        pre.context = Some(json(&format!(
            r#"{{"phase":{{"name":"District {d}: {what}","number":{d},"status":"in_progress"}},
               "activeTaskId":"{d}","tasks":[{{"id":"{d}","subject":"{what}","status":"in_progress"}}],
               "variables":{{"district":{d},"target_env":"staging"}},"agentTier":1}}"#
        )));
        write_line(&mut file, chain.emit(pre)?)?;

        // The district's work changes the agent's state.
        match d {
            1 => documents.extend(["runbook.md".to_owned(), "incident-42.pdf".to_owned()]),
            2 => psi -= 0.0625,
            _ => {}
        }
        let mut post = Emit::new(
            format!("{district}.{chamber}.NODE_POST"),
            chain.timestamp_for(now_ms()),
        );
        let docs: Vec<String> = documents.iter().map(|x| format!("{x:?}")).collect();
        post.state = Some(json(&format!(
            r#"{{"documents":[{}],"deployments":{},"lastStep":"{what}"}}"#,
            docs.join(","),
            if d == 5 {
                r#"["deploy-2026-11-23"]"#
            } else {
                "[]"
            }
        )));
        post.state_vector = Some(json(&format!(r#"{{"psi":{psi},"omega":{d}}}"#)));
        post.autonomy_index = Some(0.5 + 0.1 * d as f64);
        post.event_delta = Some(1);
        if d == 3 {
            post.intent_hash = Some(Some("intent:deploy-staging".into()));
        }
        post.context = Some(json(&format!(
            r#"{{"phase":{{"name":"District {d}: {what}","number":{d},"status":"completed"}},
               "phasesCompleted":[{}],"tasks":[{{"id":"{d}","subject":"{what}","status":"completed"}}],
               "variables":{{"district":{d},"target_env":"staging"}},"agentTier":1}}"#,
            (1..=d).map(|x| x.to_string()).collect::<Vec<_>>().join(",")
        )));
        write_line(&mut file, chain.emit(post)?)?;
    }
    file.sync_all()?;
    drop(file);

    // Verify the file as a stranger would: streaming, from disk.
    let mut verifier = JsonlVerifier::new(None);
    let mut reader = File::open(&path)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 || verifier.failed() {
            break;
        }
        verifier.feed(&buf[..n]);
    }
    let report = verifier.finish();

    println!("tokenpixel demo: {path}");
    println!(
        "{:>4}  {:<40} {:<14} {:<14} {:>5}",
        "seq", "corridor", "hash", "stateHash", "psi"
    );
    for line in BufReader::new(File::open(&path)?).lines() {
        let p = Pixel::from_json(&line?)?;
        let psi = p
            .state_vector()
            .get("psi")
            .and_then(Value::as_f64)
            .unwrap_or(f64::NAN);
        println!(
            "{:>4}  {:<40} {:<14} {:<14} {:>5}",
            p.seq(),
            p.corridor().as_str(),
            p.hash().short(12),
            p.state_hash().short(12),
            psi
        );
    }
    match &report.error {
        None => println!(
            "verified: ok, {} pixels, head {}",
            report.count, report.head
        ),
        Some(f) => {
            println!(
                "verification FAILED at pixel {} (line {:?}): {} {}",
                f.index,
                f.line,
                f.code(),
                f.message()
            );
            std::process::exit(1);
        }
    }
    Ok(())
}

fn write_line(file: &mut File, p: &Pixel) -> std::io::Result<()> {
    file.write_all(p.to_json().as_bytes())?;
    file.write_all(b"\n")
}
