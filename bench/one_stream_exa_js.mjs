// bench/one_stream_exa_js.mjs: one long event stream through exa-js, every event
// decoded (the SDK parses each data line). Env: EXA_BASE_URL, EXA_API_KEY.
// Prints "events<TAB>cpu_s<TAB>wall_s".
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const Exa = require("exa-js").default ?? require("exa-js");
const exa = new Exa(process.env.EXA_API_KEY, process.env.EXA_BASE_URL);
const betas = ["agent-2026-05-07"];
const w0 = process.hrtime.bigint();
const c0 = process.cpuUsage();
let n = 0;
const stream = await exa.beta.agent.runs.create({ betas, query: "one stream", effort: "low", stream: true });
for await (const ev of stream) { if (ev.data !== undefined) n++; }
const c = process.cpuUsage(c0);
const wall = Number(process.hrtime.bigint() - w0) / 1e9;
console.log(`${n}\t${((c.user + c.system) / 1e6).toFixed(4)}\t${wall.toFixed(4)}`);
