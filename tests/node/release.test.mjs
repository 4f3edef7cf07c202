// One version for everything this repository publishes: the npm package, the
// four crates (and the versions their dependencies on each other ask for), and
// the top entry of CHANGELOG.md.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../e2e/harness.mjs";

const read = (f) => readFileSync(path.join(ROOT, f), "utf8");
const CRATES = { "zivacare-connect": "Cargo.toml", zivacare: "zivacare/Cargo.toml", "zivacare-sandbox": "sandbox/Cargo.toml", "zivacare-dev": "server/Cargo.toml" };

/** The `[package]` version of a Cargo.toml. */
const crateVersion = (toml) => /^\[package\][^[]*?^version = "([^"]+)"/ms.exec(toml)[1];

test("the npm package, the crates and the changelog have one version", () => {
  const version = JSON.parse(read("package.json")).version;
  for (const [name, file] of Object.entries(CRATES)) assert.equal(crateVersion(read(file)), version, name);
  assert.equal(/^## (\S+)/m.exec(read("CHANGELOG.md"))[1], version, "CHANGELOG.md's top entry");
  // Every dependency of one crate on another asks for that version.
  for (const file of Object.values(CRATES)) {
    for (const [, dep, spec] of read(file).matchAll(/^(zivacare[a-z-]*) = \{([^}]*)\}/gm)) {
      if (!spec.includes("version")) continue; // the one dev-dependency cargo publish leaves out (see zivacare/Cargo.toml)
      assert.match(spec, new RegExp(`version = "=?${version.replaceAll(".", "\\.")}"`), `${file}: ${dep}`);
    }
  }
});

test("every dependency of one crate on another has a version, but the one dev-dependency that would be a cycle", () => {
  const pathOnly = [];
  for (const file of Object.values(CRATES)) {
    for (const [, dep, spec] of read(file).matchAll(/^(\S+) = \{([^}]*path = [^}]*)\}/gm)) {
      if (!spec.includes("version")) pathOnly.push(`${file}: ${dep}`);
    }
  }
  assert.deepEqual(pathOnly, ["zivacare/Cargo.toml: zivacare-sandbox"]);
});
