"""Seeds the fuzz corpora from the golden vectors (run by `make fuzz`)."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "vectors"
CORPUS = Path(__file__).resolve().parent / "corpus"

for name in ("canonicalize", "pixel", "verify_jsonl", "signed"):
    (CORPUS / name).mkdir(parents=True, exist_ok=True)
for i, case in enumerate(json.loads((VECTORS / "canonical.json").read_text())["cases"]):
    (CORPUS / "canonicalize" / f"c{i}").write_text(case["input"])
for i, case in enumerate(json.loads((VECTORS / "chains.json").read_text())["chains"]):
    (CORPUS / "verify_jsonl" / f"ch{i}").write_text(case["jsonl"])
    for j, line in enumerate(case["jsonl"].splitlines()):
        (CORPUS / "pixel" / f"p{i}_{j}").write_text(line)
for i, case in enumerate(json.loads((VECTORS / "tamper.json").read_text())["cases"]):
    if "jsonl" in case:
        (CORPUS / "verify_jsonl" / f"t{i}").write_text(case["jsonl"])
tlog = json.loads((VECTORS / "tlog.json").read_text())
for i, case in enumerate(tlog["notes"] + tlog["signing"]):
    (CORPUS / "signed" / f"n{i}").write_text(case.get("note") or case["signed"])
