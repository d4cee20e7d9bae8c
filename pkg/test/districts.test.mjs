// Districts and the corridor helper (issue 10), the same names and results as Python's.
import assert from "node:assert/strict";
import test from "node:test";
import { District, DISTRICT_PURPOSE, TokenPixelError, corridor } from "tokenpixel";

test("District constants and purposes", () => {
  assert.deepEqual(Object.values(District), [1, 2, 3, 4, 5].map((n) => `DISTRICT_${n}`));
  assert.deepEqual(Object.keys(District), ["INGESTION", "LORA_BIAS", "ROUTING", "EXECUTION", "DEPLOYMENT"]);
  assert.match(DISTRICT_PURPOSE[District.LORA_BIAS], /^LoRA bias/);
});

test("corridor builds the seed's names", () => {
  assert.equal(corridor(District.DEPLOYMENT, "DEPLOY", "EDGE_PRE"), "DISTRICT_5.CHAMBER_DEPLOY.NODE_EDGE_PRE");
  assert.equal(corridor(District.ROUTING, "router-7", "POST"), "DISTRICT_3.CHAMBER_ROUTER_7.NODE_POST");
  assert.equal(corridor(District.ROUTING, "gpt-4o"), "DISTRICT_3.CHAMBER_GPT_4O");
  assert.equal(corridor(2, "CHAMBER_LORA", "NODE_PRE"), "DISTRICT_2.CHAMBER_LORA.NODE_PRE");
  assert.equal(corridor("DISTRICT_12", "x", "y"), "DISTRICT_12.CHAMBER_X.NODE_Y");
});

test("corridor refuses what is not a corridor", () => {
  const cases = [
    [[1, ""], "INVALID_CORRIDOR"],
    [[1, "-x"], "INVALID_CORRIDOR"],
    [[1, "A", "N".repeat(120)], "INVALID_CORRIDOR"],
    [["DISTRICT_05", "A"], "INVALID_ARGUMENT"],
    [[1.5, "A"], "INVALID_ARGUMENT"],
    [[true, "A"], "INVALID_ARGUMENT"],
    [[1, 5], "INVALID_ARGUMENT"],
  ];
  for (const [args, code] of cases) {
    assert.throws(() => corridor(...args), (e) => e instanceof TokenPixelError && e.code === code, JSON.stringify(args));
  }
});
