// WebSocket echo load for benchmarks/websocket.py: N connections, each sending one message
// and awaiting its echo, as fast as the server answers; prints echoes per second.
//
//     node benchmarks/ws_client.cjs PORT CONNECTIONS SIZE DURATION
//
// Node's `ws` (installed by websocket.py under benchmarks/.node) outruns any Python client on
// one core, so the server, not the client, sets the pace.
"use strict";
const WebSocket = require("ws");

const [port, connections, size, duration] = process.argv.slice(2).map(Number);
const payload = Buffer.alloc(size, "x");
let count = 0;
let open = 0;
let stopAt = Infinity;
let started = 0;
const sockets = [];

for (let i = 0; i < connections; i++) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
  sockets.push(ws);
  ws.on("error", (error) => {
    console.error(`ws_client: ${error.message}`);
    process.exit(1);
  });
  ws.on("open", () => {
    open += 1;
    if (open === connections) {
      started = Date.now();
      stopAt = started + duration * 1000;
      for (const each of sockets) each.send(payload);
    }
  });
  ws.on("message", () => {
    count += 1;
    if (Date.now() < stopAt) {
      ws.send(payload);
    } else if (--open === 0) {
      console.log(count / ((Date.now() - started) / 1000));
      process.exit(0);
    }
  });
}
