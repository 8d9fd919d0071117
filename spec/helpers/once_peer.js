// once_peer.js - a peer that misbehaves around creates, for spec/once_spec.lua.
//
//   node spec/helpers/once_peer.js CERT KEY
//
// Prints "h1 PORT" (plain HTTP/1.1) and "h2 PORT" (HTTP/2 over TLS, ALPN h2
// only), then serves on 127.0.0.1 until it is killed (or for 900 s, a guard against orphans).
// Both serve a minimal runs API, per X-Key header (one test, one key):
//   POST /agent/runs   reads the body, makes a run {id, object, status, request}
//   GET  /agent/runs   {data = runs of the key, newest first, hasMore = false}
//   GET  /stats        {runs, run_ids, creates (create requests whose head arrived),
//                       create_conns, list_conns (connection serials), conns}
// X-Fault names one misbehaviour, done once per key on the first request it
// applies to (later requests of the key are served normally):
//   HTTP/1.1  fin-after, rst-after    the run is made, then the connection is
//                                     closed (FIN) or reset (RST), unanswered
//             fin-before, rst-before  the same before any byte of the body is read
//             list-fin, list-rst      the first list is answered (keep-alive),
//                                     then its connection is closed or reset
//   HTTP/2    goaway-after            the run is made, then GOAWAY with a last
//                                     stream id below the create's (it "was not
//                                     processed"), then the connection closes
//             refused-after           the run is made, then RST_STREAM REFUSED_STREAM
//             drop-after              the run is made, then the TCP connection is dropped
//             refused-before, goaway-before  the same before the body is read
"use strict";
const fs = require("fs");
const http = require("http");
const http2 = require("http2");

const [cert, key] = process.argv.slice(2);
const keys = new Map(); // key -> {runs, creates, create_conns, list_conns, faulted}
let nruns = 0;
let conns = 0;

function state(k) {
  let s = keys.get(k);
  if (!s) {
    s = { runs: [], creates: 0, create_conns: [], list_conns: [], faulted: false };
    keys.set(k, s);
  }
  return s;
}

// The fault to do now for this request, once per key.
function fault(s, headers, wanted) {
  const f = headers["x-fault"] || "";
  if (s.faulted || !wanted.includes(f)) return null;
  s.faulted = true;
  return f;
}

function makeRun(s, body) {
  let req = {};
  try { req = JSON.parse(body); } catch (e) { req = { unparsed: body }; }
  const run = { id: "run_" + (++nruns), object: "agent_run", status: "running", request: req };
  s.runs.push(run);
  return run;
}

function readBody(stream, done) {
  const parts = [];
  stream.on("data", (c) => parts.push(c));
  stream.on("end", () => done(Buffer.concat(parts).toString("utf8")));
}

function stats(s) {
  return JSON.stringify({ runs: s.runs.length, run_ids: s.runs.map((r) => r.id), creates: s.creates, create_conns: s.create_conns,
    list_conns: s.list_conns, conns });
}

function list(s) {
  return JSON.stringify({ data: s.runs.slice().reverse(), hasMore: false });
}

// ---- HTTP/1.1 --------------------------------------------------------------
const h1 = http.createServer((req, res) => {
  const s = state(req.headers["x-key"] || "");
  const conn = req.socket.serial;
  const path = req.url.split("?")[0];
  const json = (status, text) => {
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(text);
  };
  if (req.method === "POST" && path === "/agent/runs") {
    s.creates++;
    s.create_conns.push(conn);
    const f = fault(s, req.headers, ["fin-after", "rst-after", "fin-before", "rst-before"]);
    if (f === "fin-before") return req.socket.destroy();
    if (f === "rst-before") return req.socket.resetAndDestroy();
    readBody(req, (body) => {
      const run = makeRun(s, body);
      if (f === "fin-after") return req.socket.destroy();
      if (f === "rst-after") return req.socket.resetAndDestroy();
      json(200, JSON.stringify(run));
    });
  } else if (req.method === "GET" && path === "/agent/runs") {
    s.list_conns.push(conn);
    const f = fault(s, req.headers, ["list-fin", "list-rst"]);
    req.resume();
    res.on("finish", () => {
      if (f === "list-fin") setImmediate(() => req.socket.destroy());
      if (f === "list-rst") setImmediate(() => req.socket.resetAndDestroy());
    });
    json(200, list(s));
  } else if (path === "/stats") {
    req.resume();
    json(200, stats(s));
  } else {
    req.resume();
    json(404, "{}");
  }
});
h1.keepAliveTimeout = 60000;
h1.on("connection", (sock) => {
  sock.serial = ++conns;
  sock.on("error", () => {});
});

// ---- HTTP/2 over TLS ---------------------------------------------------------
const { NGHTTP2_REFUSED_STREAM, NGHTTP2_NO_ERROR } = http2.constants;
const h2 = http2.createSecureServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) });
const tlsSockets = new Map(); // remote port -> the TLS socket under a session
h2.on("secureConnection", (sock) => {
  const port = sock.remotePort;
  tlsSockets.set(port, sock);
  sock.on("close", () => tlsSockets.delete(port));
});
h2.on("session", (session) => {
  session.serial = ++conns;
  session.on("error", () => {}); // its own misbehaviour, as the client sees it
});
h2.on("stream", (stream, headers) => {
  stream.on("error", () => {});
  const s = state(headers["x-key"] || "");
  const session = stream.session;
  const path = (headers[":path"] || "").split("?")[0];
  const method = headers[":method"];
  const json = (status, text) => {
    stream.respond({ ":status": status, "content-type": "application/json" });
    stream.end(text);
  };
  const goaway = () => {
    session.goaway(NGHTTP2_NO_ERROR, stream.id - 2); // the create's stream "was not processed"
    setTimeout(() => session.destroy(), 20);
  };
  if (method === "POST" && path === "/agent/runs") {
    s.creates++;
    s.create_conns.push(session.serial);
    const f = fault(s, headers, ["goaway-after", "refused-after", "drop-after", "refused-before", "goaway-before"]);
    if (f === "refused-before") return stream.close(NGHTTP2_REFUSED_STREAM);
    if (f === "goaway-before") return goaway();
    readBody(stream, (body) => {
      const run = makeRun(s, body);
      if (f === "goaway-after") return goaway();
      if (f === "refused-after") return stream.close(NGHTTP2_REFUSED_STREAM);
      if (f === "drop-after") return tlsSockets.get(session.socket.remotePort).destroy(); // no GOAWAY
      json(200, JSON.stringify(run));
    });
  } else if (method === "GET" && path === "/agent/runs") {
    s.list_conns.push(session.serial);
    stream.resume();
    json(200, list(s));
  } else if (path === "/stats") {
    stream.resume();
    json(200, stats(s));
  } else {
    stream.resume();
    json(404, "{}");
  }
});

let listening = 0;
function ready() {
  if (++listening < 2) return;
  process.stdout.write("h1 " + h1.address().port + "\nh2 " + h2.address().port + "\n");
}
h1.listen(0, "127.0.0.1", ready);
h2.listen(0, "127.0.0.1", ready);
setTimeout(() => process.exit(0), 900000);
