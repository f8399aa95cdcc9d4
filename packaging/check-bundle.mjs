// What Claude Desktop does with a bundle, done with mcpb's own code: unpack it, resolve its
// command and environment from the manifest (user_config defaults, then the values given),
// start the server that way and speak MCP to it over stdio: initialize, tools/list and
// session_status. A second start with a bad cap must stop naming the setting.
// Usage: node packaging/check-bundle.mjs BUNDLE.mcpb MCPB_PACKAGE_DIR
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [bundle, pkgDir] = process.argv.slice(2);
const fail = (why) => {
  console.error(`check-bundle: ${why}`);
  process.exit(1);
};
if (!bundle || !pkgDir) fail("usage: node packaging/check-bundle.mjs BUNDLE.mcpb MCPB_PACKAGE_DIR");
const mcpb = await import(pathToFileURL(join(pkgDir, "dist/index.js")).href);
const dir = mkdtempSync(join(tmpdir(), "mcpb-check-"));
if (!(await mcpb.unpackExtension({ mcpbPath: bundle, outputDir: dir, silent: true }))) fail(`cannot unpack ${bundle}`);
const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));

async function resolved(userConfig) {
  const config = await mcpb.getMcpConfigForManifest({
    manifest, extensionPath: dir, systemDirs: {}, userConfig, pathSeparator: "/",
  });
  if (!config) fail("mcpb made no configuration (a required field missing?)");
  const text = JSON.stringify(config);
  if (text.includes("${")) fail(`variables left unresolved: ${text}`);
  return config;
}

// Starts the server as configured (a fresh HOME: its journal goes there) and sends `requests`
// one after the other; resolves with the answers and the exit code and stderr.
function run(config, requests) {
  return new Promise((done) => {
    const home = mkdtempSync(join(tmpdir(), "mcpb-home-"));
    const child = spawn(config.command, config.args ?? [], {
      env: { PATH: process.env.PATH, HOME: home, ...config.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const answers = [];
    let stderr = "";
    let buffered = "";
    const next = () => {
      const r = requests[answers.length];
      if (r) child.stdin.write(JSON.stringify(r) + "\n");
      else child.stdin.end();
    };
    child.stdout.on("data", (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const msg = JSON.parse(line);
        if (msg.id === undefined) continue;
        answers.push(msg);
        if (msg.id === 1) child.stdin.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) + "\n");
        next();
      }
    });
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => done({ answers, code, stderr }));
    const timer = setTimeout(() => child.kill(), 20000);
    child.on("exit", () => clearTimeout(timer));
    next();
  });
}

const requests = [
  { jsonrpc: "2.0", id: 1, method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "check-bundle", version: "1" } } },
  { jsonrpc: "2.0", id: 2, method: "tools/list" },
  { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "session_status", arguments: {} } },
];

async function started(userConfig) {
  const config = await resolved(userConfig);
  const { answers, code, stderr } = await run(config, requests);
  if (answers.length !== 3 || answers.some((a) => a.error)) fail(`the server answered ${JSON.stringify(answers)} (exit ${code}): ${stderr}`);
  const status = JSON.parse(answers[2].result.content[0].text).data;
  return { config, info: answers[0].result.serverInfo, tools: answers[1].result.tools.length, status };
}

const plain = await started({});
const p = plain.status.posture;
if (p.dry_run !== true) fail(`the bundle's defaults do not dry-run: ${JSON.stringify(p)}`);
console.log(`started as Claude Desktop would: ${plain.info.name} ${plain.info.version}, ${plain.tools} tools, backend ${plain.status.backend}, dry run ${p.dry_run}, max order ${p.max_order_value}`);
console.log(`environment from the bundle: ${Object.keys(plain.config.env).join(", ")}`);

if (!manifest.user_config.max_order_value) fail("the bundle does not ask for max_order_value");
const capped = await started({ max_order_value: "37" });
if (!capped.status.posture.max_order_value.includes("37")) fail(`max_order_value 37 did not reach the server: ${capped.status.posture.max_order_value}`);
console.log(`a cap from the install form reaches the server: max order ${capped.status.posture.max_order_value}`);
const refused = await run(await resolved({ max_order_value: "lots" }), requests.slice(0, 1));
if (refused.code === 0 || !refused.stderr.includes("MAX_ORDER_VALUE")) fail(`a bad cap was not refused by name: exit ${refused.code}, ${refused.stderr}`);
console.log(`a bad cap from the install form stops the server: ${refused.stderr.trim().split("\n").pop()}`);
