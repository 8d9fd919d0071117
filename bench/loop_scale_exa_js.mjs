// bench/loop_scale_exa_js.mjs N: N live streams at once through exa-js, the
// counterpart of loop_scale.lua: client CPU per event, peak memory per stream
// (peak RSS over the RSS before the streams opened, divided by N). One N per
// process. Env: EXA_BASE_URL, EXA_API_KEY; NODE_EXTRA_CA_CERTS for the proxy.
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const realFetch = globalThis.fetch;
globalThis.fetch = (url, init = {}) =>
  realFetch(url, { ...init, headers: { ...(init.headers || {}), "X-Mock-Fault": "run-seconds=4" } });
const Exa = require("exa-js").default ?? require("exa-js");

const N = Number(process.argv[2] || 100);
const exa = new Exa(process.env.EXA_API_KEY, process.env.EXA_BASE_URL);
const runs = exa.beta.agent.runs;
const betas = ["agent-2026-05-07"];
await runs.list({ betas, limit: 1 }); // warm: the code paths exist before measuring
if (global.gc) global.gc();
const base = process.memoryUsage().rss / 1024;
let events = 0, done = 0, failed = 0;
const c0 = process.cpuUsage();
await Promise.all(Array.from({ length: N }, async (_, i) => {
  try {
    const stream = await runs.create({ betas, query: `scale ${i}`, effort: "low", stream: true });
    for await (const _ev of stream) events++;
    done++;
  } catch (e) {
    failed++;
    if (failed === 1) console.error(`exa-js: ${String(e.message || e).slice(0, 120)}`);
  }
}));
const c = process.cpuUsage(c0);
const cpu = (c.user + c.system) / 1e6;
const peak = process.resourceUsage().maxRSS; // KiB
console.log(`${("Node " + process.version).padEnd(12)} streams ${String(N).padStart(5)}  events ${String(events).padStart(7)}  `
  + `cpu/event ${(cpu / events * 1e6).toFixed(1).padStart(7)} us  peak/stream ${((peak - base) / N).toFixed(1).padStart(6)} KiB  (done ${done})`);
