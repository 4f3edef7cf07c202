// Rewrites wasm-bindgen's JS glue after `wasm-opt --minify-imports-and-exports-and-modules`
// has renamed the module's imports and exports (`__wbg_get_d7176cfb76d71114` -> `b`):
// the long hashed names otherwise appear in both files and cost ~2 KB of gzip.
// Usage: node scripts/minify-names.mjs <mapping.json> <glue.js>
import { readFileSync, writeFileSync } from 'node:fs';

const [mapFile, glueFile] = process.argv.slice(2);
// wasm-opt prints the mapping as JSON, possibly after other output.
const text = readFileSync(mapFile, 'utf8');
const map = JSON.parse(text.slice(text.indexOf('{')));
let glue = readFileSync(glueFile, 'utf8');

const modules = new Set();
const imports = new Map();
for (const [module, name, short] of map.imports) {
  modules.add(module);
  imports.set(name, short);
}
const exports = new Map(map.exports);
const fail = (why) => {
  console.error(`minify-names: ${why}`);
  process.exit(1);
};
if (modules.size !== 1) fail(`expected one import module, got ${[...modules].join(', ')}`);
const [module] = modules;

let renamed = 0;
// Keys of the import object: `    __wbg_x_0123: function(`.
glue = glue.replace(/^(\s+)([A-Za-z_$][\w$]*)(: function\()/gm, (all, indent, name, rest) => {
  if (!imports.has(name)) return all;
  renamed++;
  return indent + JSON.stringify(imports.get(name)) + rest;
});
if (renamed !== imports.size) fail(`renamed ${renamed} of ${imports.size} imports`);

// The module name the import object is registered under. With
// -and-modules every import module becomes "a".
const moduleKey = JSON.stringify(module) + ':';
if (!glue.includes(moduleKey)) fail(`no ${moduleKey} in the glue`);
glue = glue.replace(moduleKey, '"a":');

// Every use of an export: `wasm.name`.
glue = glue.replace(/\bwasm\.([A-Za-z_$][\w$]*)/g, (all, name) => {
  if (!exports.has(name)) fail(`wasm.${name} is not an export of the module`);
  return `wasm.${exports.get(name)}`;
});
writeFileSync(glueFile, glue);
