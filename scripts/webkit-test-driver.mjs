// Runs COMMAND (the in-browser Rust tests: `wasm-pack test --safari …`) against
// WebKit: starts WebKitWebDriver, and in front of it a small proxy whose URL the
// test runner gets as SAFARIDRIVER_REMOTE. The runner asks for a session with
// no capabilities; the proxy names MiniBrowser and lets its pages open windows
// without a click, as the other engines' drivers do for these tests (the
// end-to-end tests keep every engine's popup blocker on).
// Usage: node scripts/webkit-test-driver.mjs -- COMMAND [ARGS…]
import { spawn } from "node:child_process";
import http from "node:http";
import net from "node:net";

const command = process.argv.slice(process.argv.indexOf("--") + 1);
const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, "127.0.0.1", () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});

const driverPort = await freePort();
const driver = spawn(process.env.WEBKITDRIVER || "WebKitWebDriver", [`--port=${driverPort}`], { stdio: "ignore" });
const SESSION = {
  browserName: "MiniBrowser",
  "webkitgtk:browserOptions": { args: ["--automation", "--javascript-can-open-windows-automatically=true"] },
};

const proxy = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    let body = Buffer.concat(chunks);
    if (req.method === "POST" && req.url === "/session") {
      body = Buffer.from(JSON.stringify({ capabilities: { alwaysMatch: SESSION } }));
    }
    const headers = { ...req.headers, "content-length": body.length };
    const up = http.request({ host: "127.0.0.1", port: driverPort, method: req.method, path: req.url, headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on("error", (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    up.end(body);
  });
});
const proxyPort = await freePort();
await new Promise((r) => proxy.listen(proxyPort, "127.0.0.1", r));
for (let i = 0; i < 50; i++) {
  const up = await fetch(`http://127.0.0.1:${driverPort}/status`).then((r) => r.ok, () => false);
  if (up) break;
  await new Promise((r) => setTimeout(r, 100));
}

const child = spawn(command[0], command.slice(1), {
  stdio: "inherit",
  env: { ...process.env, SAFARIDRIVER_REMOTE: `http://127.0.0.1:${proxyPort}` },
});
child.on("exit", (code, signal) => {
  proxy.close();
  driver.kill();
  process.exit(code ?? (signal ? 1 : 0));
});
