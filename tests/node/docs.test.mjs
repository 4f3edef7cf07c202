// The documentation holds together: every relative link of README.md and
// docs/ leads to a file of the repository (and to a heading of it, for a
// #fragment), the README stays short, and its two commands are the ones CI and
// the demo run.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../e2e/harness.mjs";

const read = (f) => readFileSync(path.join(ROOT, f), "utf8");
const PAGES = ["README.md", ...readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading) {
  return heading.trim().toLowerCase().replace(/[`*_]/g, "").replace(/[^\p{L}\p{N}\s-]/gu, "").replace(/\s/g, "-");
}

/** The anchors of a Markdown file: its headings' (outside code blocks). */
function anchors(text) {
  const out = new Set();
  let code = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("```")) code = !code;
    const m = !code && /^#{1,6} (.+)$/.exec(line);
    if (m) out.add(slug(m[1]));
  }
  return out;
}

/** The relative links of a Markdown file, outside code: [text](target). */
function links(text) {
  const prose = text.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((t) => !/^[a-z]+:/i.test(t));
}

test("every relative link of README.md and docs/ resolves, to a heading where it names one", () => {
  const broken = [];
  let count = 0;
  for (const page of PAGES) {
    for (const link of links(read(page))) {
      count++;
      const [file, fragment] = link.split("#");
      const target = file ? path.normalize(path.join(path.dirname(page), file)) : page;
      if (!existsSync(path.join(ROOT, target))) {
        broken.push(`${page}: ${link} (no ${target})`);
      } else if (fragment && target.endsWith(".md") && !anchors(read(target)).has(fragment)) {
        broken.push(`${page}: ${link} (no heading #${fragment} in ${target})`);
      }
    }
  }
  assert.deepEqual(broken, []);
  assert.ok(count > 20, `the check saw the links (${count})`);
});

test("the anchor check sees a heading that is not there", () => {
  assert.ok(anchors("# The API and its errors\n## The redirect return\n").has("the-redirect-return"));
  assert.equal(slug("Rust: Leptos, Yew, Dioxus"), "rust-leptos-yew-dioxus");
  assert.ok(!anchors("```\n# not a heading\n```\n").has("not-a-heading"));
});

test("the README is what a newcomer reads in five minutes: under 10 KB", () => {
  const size = Buffer.byteLength(read("README.md"));
  assert.ok(size <= 10 * 1024, `README.md is ${size} bytes`);
});

test("the README's two commands are the ones CI and the demo run", () => {
  const readme = read("README.md");
  const block = /## Two commands\n+```sh\n([\s\S]*?)```/.exec(readme)[1];
  const commands = block.trim().split("\n").map((l) => l.split("#")[0].trim());
  assert.deepEqual(commands, ["scripts/demo.sh", "scripts/test.sh"]);
  assert.match(read(".ci/run"), /^exec scripts\/test\.sh$/m, "CI runs the README's test command");
  const scripts = JSON.parse(read("package.json")).scripts;
  assert.equal(scripts.demo, "scripts/demo.sh");
  assert.equal(scripts.test, "scripts/test.sh");
  // The demo command starts what the demo's end-to-end test starts.
  assert.match(read("scripts/demo.sh"), /^exec target\/debug\/zivacare-dev demo$/m);
  assert.match(read("tests/e2e/demo.test.mjs"), /start\("demo"/);
});
