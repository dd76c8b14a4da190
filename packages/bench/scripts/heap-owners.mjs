// What a live call's heap is made of, by owner: heap snapshots before and after `CALLS` live
// 10-turn calls of the bench's workload, each new object charged to the first object of an owner
// class on its shortest path from the roots (owner.field). Run after `pnpm build`:
//   node --expose-gc --max-old-space-size=4096 packages/bench/scripts/heap-owners.mjs [voicetrace|stock] [depth]
// Prints KiB per call by owner; `depth` > 1 splits each owner's share by the fields under it.
import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTick } from 'node:timers/promises';
import { writeHeapSnapshot } from 'node:v8';
import { pipeline } from '../dist/pipelines.js';
import { startSink } from '../dist/sink.js';

const CALLS = 100;
const OWNERS = new Set(['SessionModel', 'SessionEngine', 'SessionEventLog', 'StageSpanView', 'LateFactHold', 'MetricsView', 'UsageLedger', 'SignalDetector', 'LangfuseSpanProcessor', 'SimulatedCall']);
const path = process.argv[2] ?? 'voicetrace';
const depth = Number(process.argv[3] ?? 1);
const gc = () => { for (let i = 0; i < 3; i++) globalThis.gc(); };

const dir = mkdtempSync(join(tmpdir(), 'heap-owners-'));
const sink = await startSink();
const p = pipeline(path, { endpoint: sink.url, maxQueueSize: 100_000 });
// one call first, ended: module state, instruments and JIT are not charged to the calls
const warm = p.newCall(-1);
warm.start();
for (let t = 0; t < 10; t++) warm.runTurn();
warm.end();
await p.flush();
await nextTick();
gc();
const beforeFile = writeHeapSnapshot(join(dir, 'before.heapsnapshot'));
gc();
const heapBefore = process.memoryUsage().heapUsed;
const live = [];
for (let i = 0; i < CALLS; i++) {
  const call = p.newCall(i);
  call.start();
  live.push(call);
}
for (let t = 0; t < 10; t++) {
  for (const call of live) call.runTurn();
  await p.flush();
}
await nextTick();
gc();
const heapAfter = process.memoryUsage().heapUsed;
const afterFile = writeHeapSnapshot(join(dir, 'after.heapsnapshot'));
console.log(`${path}: ${((heapAfter - heapBefore) / CALLS / 1024).toFixed(1)} KiB per live 10-turn call (heapUsed; the simulated SDK's side included)`);

const before = JSON.parse(readFileSync(beforeFile, 'utf8'));
const snap = JSON.parse(readFileSync(afterFile, 'utf8'));
rmSync(dir, { recursive: true, force: true });
const meta = snap.snapshot.meta;
const nf = meta.node_fields.length;
const ef = meta.edge_fields.length;
const [TYPE, NAME, ID, SIZE, EDGES] = ['type', 'name', 'id', 'self_size', 'edge_count'].map((f) => meta.node_fields.indexOf(f));
const nodeTypes = meta.node_types[0];
const edgeTypes = meta.edge_types[0];
const { nodes, edges, strings } = snap;
const count = nodes.length / nf;
const old = new Set();
for (let i = 0; i < before.nodes.length; i += nf) old.add(before.nodes[i + ID]);
const firstEdge = new Uint32Array(count + 1);
for (let i = 0, e = 0; i < count; i++) {
  firstEdge[i] = e;
  e += nodes[i * nf + EDGES] * ef;
  firstEdge[i + 1] = e;
}
// the shortest-path tree from the root, weak edges left out
const parent = new Int32Array(count).fill(-1);
const via = new Array(count);
parent[0] = 0;
const queue = [0];
for (let h = 0; h < queue.length; h++) {
  const from = queue[h];
  for (let e = firstEdge[from]; e < firstEdge[from + 1]; e += ef) {
    const type = edgeTypes[edges[e]];
    if (type === 'weak') continue;
    const to = edges[e + 2] / nf;
    if (parent[to] !== -1) continue;
    parent[to] = from;
    via[to] = type === 'element' || type === 'hidden' ? '[]' : strings[edges[e + 1]];
    queue.push(to);
  }
}
const isOwner = (i) => nodeTypes[nodes[i * nf + TYPE]] === 'object' && OWNERS.has(strings[nodes[i * nf + NAME]]);
const groups = new Map();
let total = 0;
for (let i = 0; i < count; i++) {
  if (old.has(nodes[i * nf + ID]) || parent[i] === -1) continue;
  const size = nodes[i * nf + SIZE];
  total += size;
  const fields = [];
  let label = 'other (the SDK side, spans in flight, sockets)';
  for (let x = i; x !== 0; x = parent[x]) {
    fields.push(via[x]);
    if (isOwner(parent[x])) {
      label = `${strings[nodes[parent[x] * nf + NAME]]}.${fields.reverse().slice(0, depth).join('.')}`;
      break;
    }
  }
  groups.set(label, (groups.get(label) ?? 0) + size);
}
console.log(`new objects: ${(total / CALLS / 1024).toFixed(1)} KiB per call`);
for (const [label, bytes] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`${(bytes / CALLS / 1024).toFixed(2).padStart(8)} KiB  ${label}`);
await sink.close();
process.exit(0);
