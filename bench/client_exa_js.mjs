// The official TypeScript SDK (exa-js) against the simulator, for bench/run.sh.
// Same operations and output format as client_lua.lua.
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);

// exa-js offers no per-request headers, so X-Mock-Fault goes in through fetch,
// patched before the SDK captures it.
let fault = null;
const realFetch = globalThis.fetch;
globalThis.fetch = (url, init = {}) => {
  if (fault) init = { ...init, headers: { ...(init.headers || {}), "X-Mock-Fault": fault } };
  return realFetch(url, init);
};
const Exa = require("exa-js").default ?? require("exa-js");

const N = Number(process.env.BENCH_GETS || 1000);
const runId = process.env.BENCH_RUN_ID;
const exa = new Exa(process.env.EXA_API_KEY, process.env.EXA_BASE_URL);
const runs = exa.beta.agent.runs;
const betas = ["agent-2026-05-07"];

async function measure(name, ops, f) {
  const w0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const detail = (await f()) || "";
  const wall = Number(process.hrtime.bigint() - w0) / 1e9;
  const c = process.cpuUsage(c0);
  console.log(`${name}\t${ops}\t${wall.toFixed(4)}\t${((c.user + c.system) / 1e6).toFixed(4)}\t${detail}`);
}

await measure("get", N, async () => {
  for (let i = 0; i < N; i++) await runs.get(runId, { betas });
});

await measure("list-all", 5, async () => {
  let n = 0;
  for (let i = 0; i < 5; i++) for await (const _ of runs.listAll({ betas, limit: 20 })) n++;
  return `${n} runs seen`;
});

// exa-js has no SSE replay of stored events; JSON event pages are the closest.
console.log("replay-events\t0\t0\t0\tnot offered by exa-js");

for (const f of ["none", "sse-eol=crlf", "sse-eol=cr", "close-after-events=3"]) {
  fault = f === "none" ? null : f;
  let n = 0, last = null, err = "";
  try {
    const stream = await runs.create({ betas, query: "bench stream", effort: "low", stream: true });
    for await (const ev of stream) { n++; last = ev.event; }
  } catch (e) { err = `, error: ${String(e.message || e).slice(0, 80)}`; }
  console.log(`stream[${f}]\t1\t0\t0\t${n} events, last ${last}${err}`);
}
fault = null;
