// Size of the script-tag install: what a page downloads for a working button.
// Sizes are deterministic for a given toolchain, so they can be enforced.
//
// The budget is 24,000 bytes with gzip -9 (smaller than humanapi-connect-client's
// 25,043), the goal 16,000. It is not met yet; until it is, this test holds the
// line where the SDK stands so that nothing makes it bigger unnoticed.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { ROOT } from "./harness.mjs";

const BUDGET = 24_000;
const CEILING = 24_200; // where the SDK stands today (24,131); lower it with every win

test("the script-tag install stays under its ceiling (budget: 24,000 bytes gzip -9)", () => {
  const files = ["pkg/connect.js", "pkg/zivacare_connect_bg.wasm"];
  // GNU gzip -9, the measure of the budget (zlib's level 9 differs by a few percent).
  const sizes = files.map((f) => execFileSync("gzip", ["-9c", path.join(ROOT, f)]).length);
  const total = sizes.reduce((a, b) => a + b, 0);
  console.log(`script-tag install: ${files.map((f, i) => `${f} ${sizes[i]}`).join(", ")}; total ${total} bytes gzip -9 (budget ${BUDGET})`);
  assert.ok(total <= CEILING, `${total} > ${CEILING}`);
});
