// What a live call's heap is made of, by owner: heap snapshots before and after `CALLS` live
// 10-turn calls of the bench's workload, each new object charged to the first object of an owner
// class on its shortest path from the roots (owner.field). Run after `pnpm build`:
//   node --expose-gc --max-old-space-size=4096 packages/bench/scripts/heap-owners.mjs [voicetrace|stock] [depth]
// Prints KiB per call by owner; `depth` > 1 splits each owner's share by the fields under it, and names
// what no owner holds by the path of its nearest objects. TOP=n in the environment prints n lines (40).
import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { startSink } from '../dist/sink.js';
import { liveTask } from '../dist/tasks/memory.js';

const CALLS = 100;
const OWNERS = new Set(['SessionModel', 'SessionEngine', 'SessionEventLog', 'StageSpanView', 'LateFactHold', 'MetricsView', 'UsageLedger', 'SignalDetector', 'LangfuseSpanProcessor', 'SimulatedCall']);
const path = process.argv[2] ?? 'voicetrace';
const depth = Number(process.argv[3] ?? 1);

// the bench's own memory row, with a snapshot at each of its two heap readings
const dir = mkdtempSync(join(tmpdir(), 'heap-owners-'));
const sink = await startSink();
const files = {};
const result = await liveTask({ path, endpoint: sink.url, sessions: CALLS, turns: 10 }, (when) => {
  files[when] = writeHeapSnapshot(join(dir, `${when}.heapsnapshot`));
});
await sink.close();
console.log(`${path}: ${(result.bytesPerSession / 1024).toFixed(1)} KiB per live 10-turn call (heapUsed; the simulated SDK's side included)`);

const before = JSON.parse(readFileSync(files.before, 'utf8'));
const snap = JSON.parse(readFileSync(files.after, 'utf8'));
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
const OTHER = 'other (the SDK side, spans in flight, sockets)';
const groups = new Map();
let total = 0;
for (let i = 0; i < count; i++) {
  if (old.has(nodes[i * nf + ID]) || parent[i] === -1) continue;
  const size = nodes[i * nf + SIZE];
  total += size;
  const fields = [];
  let label = OTHER;
  for (let x = i; x !== 0; x = parent[x]) {
    fields.push(via[x]);
    if (isOwner(parent[x])) {
      label = `${strings[nodes[parent[x] * nf + NAME]]}.${fields.reverse().slice(0, depth).join('.')}`;
      break;
    }
  }
  if (depth > 1 && label === OTHER) {
    // no owner on the path: name it by its nearest objects (how the size estimates' weak map was found)
    const names = [];
    for (let x = i; x !== 0 && names.length < 4; x = parent[x]) {
      if (nodeTypes[nodes[x * nf + TYPE]] === 'object') names.push(`${strings[nodes[x * nf + NAME]]}.${via[x]}`);
    }
    label = `other: ${names.reverse().join(' > ')}`;
  }
  groups.set(label, (groups.get(label) ?? 0) + size);
}
console.log(`new objects: ${(total / CALLS / 1024).toFixed(1)} KiB per call`);
for (const [label, bytes] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 40))) console.log(`${(bytes / CALLS / 1024).toFixed(2).padStart(8)} KiB  ${label}`);
