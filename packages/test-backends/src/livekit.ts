import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';
import { freePorts, hermeticEnv, makeWorkDir, ManagedProcess, sleep } from './process.js';
import type { LivekitServerHandle, LivekitServerOptions } from './types.js';

/** The keys `livekit-server --dev` uses when the config has none. */
export const LIVEKIT_DEV_API_KEY = 'devkey';
export const LIVEKIT_DEV_API_SECRET = 'secret';

/**
 * Why a WebRTC client on this machine (`@livekit/rtc-node`, i.e. libwebrtc, as used by agent workers and
 * scripted callers) cannot carry media to the harness's server, or undefined when it can. libwebrtc
 * gathers no candidates on the loopback interface: with no other network interface up (a sandbox
 * with only `lo`), `Room.connect` fails with `wait_pc_connection timed out` even though the server
 * offers 127.0.0.1 candidates. Any interface with an IPv4 address fixes it, even one with no route
 * anywhere (e.g. one end of a veth pair); the media itself then flows over 127.0.0.1.
 */
export function rtcClientNetworkProblem(): string | undefined {
  const external = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && !a.internal && a.family === 'IPv4');
  if (external.length > 0) return undefined;
  return (
    'no network interface other than loopback has an IPv4 address: WebRTC clients (@livekit/rtc-node) ' +
    'gather no ICE candidates on loopback, so they cannot connect media to a local livekit-server. ' +
    'Bring up any interface with an IPv4 address (it needs no route) to run these tests.'
  );
}

/** A TCP port free on every interface (livekit-server binds its ICE/TCP port on all of them). */
function freeWildcardTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, () => {
      const { port } = s.address() as import('node:net').AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A UDP port free on every interface (so also free on 127.0.0.1), distinct from `avoid`. */
async function freeUdpPort(avoid: readonly number[]): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createSocket('udp4');
      s.once('error', reject);
      s.bind(0, () => {
        const { port: p } = s.address();
        s.close(() => resolve(p));
      });
    });
    if (!avoid.includes(port)) return port;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Record<string, unknown>, over: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  }
  return out;
}

/**
 * Starts a real LiveKit media server (`livekit-server --dev`, keys `devkey`/`secret`, no Redis:
 * single node) on free loopback ports and waits until its HTTP port answers 200 `OK`.
 *
 * Every port is chosen by the harness (two test files can each run their own server at the same
 * time): signalling/API on 127.0.0.1, ICE over one muxed UDP port on 127.0.0.1 (`rtc.node_ip`
 * 127.0.0.1, no STUN/external IP discovery, loopback candidates on), ICE/TCP on a free port (the
 * server binds that one on all interfaces), TURN off. Rooms are auto-created on join.
 */
export async function startLivekitServer(opts: LivekitServerOptions = {}): Promise<LivekitServerHandle> {
  const bin = await requireBinary('livekit');
  const [http] = (await freePorts(1)) as [number];
  let rtcTcp = await freeWildcardTcpPort();
  while (rtcTcp === http) rtcTcp = await freeWildcardTcpPort();
  const rtcUdp = await freeUdpPort([http, rtcTcp]);
  const host = '127.0.0.1';
  const workDir = makeWorkDir('livekit');
  const base: Record<string, unknown> = {
    port: http,
    bind_addresses: [host],
    rtc: {
      tcp_port: rtcTcp,
      udp_port: rtcUdp,
      node_ip: host,
      use_external_ip: false,
      enable_loopback_candidate: true,
      // Only loopback host candidates: the UDP mux listens on 127.0.0.1 alone.
      ips: { includes: [`${host}/32`] },
    },
    turn: { enabled: false },
    logging: { level: opts.logLevel ?? 'info' },
  };
  const config = opts.config ? deepMerge(base, opts.config) : base;
  const configFile = join(workDir, 'livekit.yaml');
  // JSON is valid YAML; livekit-server parses it strictly (unknown keys are errors).
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const httpUrl = `http://${host}:${http}`;
  const proc = new ManagedProcess({
    label: 'livekit-server',
    command: bin,
    args: ['--dev', '--bind', host, '--config', configFile],
    env: hermeticEnv({}),
    workDir,
    isReady: async () => {
      try {
        const res = await fetch(`${httpUrl}/`, { signal: AbortSignal.timeout(1000) });
        return res.status === 200 && (await res.text()).trim() === 'OK';
      } catch {
        return false;
      }
    },
    readyTimeoutMs: opts.readyTimeoutMs ?? 30_000,
    stopGraceMs: 5000,
  });
  // On SIGTERM livekit-server drains: it waits, without limit, until every participant (e.g. an
  // agent worker's job) has left. A second SIGTERM forces the shutdown. So stop(): SIGTERM, and if
  // the server is still up a second later, the generic stop (a second SIGTERM, SIGKILL after 5 s).
  const drainingStop = proc.stop.bind(proc);
  proc.stop = async (): Promise<void> => {
    const pid = proc.pid;
    if (pid !== undefined) {
      try { process.kill(-pid, 'SIGTERM'); } catch { /* gone */ }
      const deadline = Date.now() + 1000;
      while (proc.pid !== undefined && Date.now() < deadline) await sleep(25);
    }
    await drainingStop();
  };
  await proc.start();
  return Object.assign(proc, {
    ports: { http, rtcTcp, rtcUdp },
    url: `ws://${host}:${http}`,
    httpUrl,
    apiKey: LIVEKIT_DEV_API_KEY,
    apiSecret: LIVEKIT_DEV_API_SECRET,
    configFile,
  });
}
