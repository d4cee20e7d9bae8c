//! Calibrates the core's token estimator against a real BPE tokenizer (tiktoken-rs,
//! cl100k_base): the mean absolute error must stay within 15% on each kind of text.

use std::path::Path;

use sha2::{Digest as _, Sha256};
use tokenpixel_core::estimate_tokens;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)).unwrap()
}

/// Splits text into chunks of about `size` bytes at line boundaries.
fn chunks(text: &str, size: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        cur.push_str(line);
        cur.push('\n');
        if cur.len() >= size {
            out.push(std::mem::take(&mut cur));
        }
    }
    if cur.trim().len() > 20 {
        out.push(cur);
    }
    out
}

fn prose() -> Vec<String> {
    let mut text = String::new();
    for doc in ["README.md", "docs/SPEC.md"] {
        let mut in_code = false;
        for line in read(doc).lines() {
            if line.starts_with("```") {
                in_code = !in_code;
                continue;
            }
            if !in_code && !line.starts_with('|') && !line.trim().is_empty() {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    chunks(&text, 500)
}

fn code() -> Vec<String> {
    let mut out = Vec::new();
    for f in [
        "core/src/json.rs",
        "core/src/canonical.rs",
        "core/src/chain.rs",
        "bindings-py/python/tokenpixel/store.py",
        "pkg/src/api.js",
    ] {
        out.extend(chunks(&read(f), 700));
    }
    out
}

fn json() -> Vec<String> {
    let mut out = chunks(&read("tests/vectors/chains.json"), 700);
    out.truncate(60);
    out
}

fn hex() -> Vec<String> {
    (0..60)
        .map(|i| {
            (0..4)
                .map(|j| {
                    let d = Sha256::digest(format!("{i}-{j}").as_bytes());
                    let h: String = d.iter().map(|b| format!("{b:02x}")).collect();
                    format!("sha256:{h}")
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect()
}

fn non_latin() -> Vec<String> {
    [
        "代理在每个阶段记录其状态，以便以后可以审计、重放和比较发生的事情。每个检查点都经过规范化哈希处理并链接到前一个检查点。",
        "エージェントは各段階で状態を記録し、後で何が起こったかを監査、再生、比較できるようにします。各チェックポイントは正規化されたハッシュで前のものにリンクされます。",
        "Агент записывает своё состояние на каждом этапе, чтобы потом можно было проверить, воспроизвести и сравнить произошедшее. Каждая контрольная точка хешируется и связывается с предыдущей.",
        "يسجل الوكيل حالته في كل مرحلة حتى يمكن لاحقًا تدقيق ما حدث وإعادة تشغيله ومقارنته. يتم تجزئة كل نقطة تفتيش وربطها بالنقطة السابقة.",
        "एजेंट हर चरण में अपनी स्थिति दर्ज करता है ताकि बाद में जो हुआ उसका ऑडिट, पुनरावृत्ति और तुलना की जा सके।",
        "Ο πράκτορας καταγράφει την κατάστασή του σε κάθε στάδιο, ώστε αργότερα να μπορεί κανείς να ελέγξει, να αναπαράγει και να συγκρίνει ό,τι συνέβη.",
        "에이전트는 각 단계에서 상태를 기록하여 나중에 무슨 일이 있었는지 감사하고 재현하고 비교할 수 있습니다. 각 체크포인트는 이전 체크포인트에 연결됩니다.",
        "Агентът записва състоянието си на всеки етап, за да може по-късно да се провери какво се е случило. Всяка контролна точка е свързана с предишната.",
        "הסוכן רושם את מצבו בכל שלב כדי שאפשר יהיה לבדוק, לשחזר ולהשוות את מה שקרה. כל נקודת ביקורת מקושרת לקודמת.",
        "ตัวแทนบันทึกสถานะของตนในทุกขั้นตอนเพื่อให้สามารถตรวจสอบ เล่นซ้ำ และเปรียบเทียบสิ่งที่เกิดขึ้นได้ในภายหลัง",
        "部署流水线在每个区域之前和之后写入检查点：摄取、权重偏置、路由、执行和部署。",
        "Конвейер развёртывания пишет контрольные точки до и после каждого района: приём, смещение весов, маршрутизация, выполнение и развёртывание.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn estimator_is_within_15_percent_of_cl100k_on_every_kind_of_text() {
    let bpe = tiktoken_rs::cl100k_base().unwrap();
    let sets: [(&str, Vec<String>); 5] = [
        ("english prose", prose()),
        ("code", code()),
        ("json", json()),
        ("hex hashes", hex()),
        ("non-latin scripts", non_latin()),
    ];
    let mut report = String::new();
    let mut worst = 0.0f64;
    for (name, samples) in &sets {
        assert!(
            samples.len() >= 10,
            "{name}: only {} samples",
            samples.len()
        );
        let mut sum = 0.0;
        let (mut est_total, mut true_total) = (0usize, 0usize);
        for s in samples {
            let truth = bpe.encode_ordinary(s).len();
            let est = estimate_tokens(s);
            sum += (est as f64 - truth as f64).abs() / truth as f64;
            est_total += est;
            true_total += truth;
        }
        let mae = sum / samples.len() as f64;
        worst = worst.max(mae);
        report.push_str(&format!(
            "{name:<18} samples {:>3}  mean abs error {:>5.1}%  (estimated {est_total}, cl100k {true_total})\n",
            samples.len(),
            mae * 100.0
        ));
    }
    println!("{report}");
    assert!(worst <= 0.15, "estimator error above 15%:\n{report}");
}
