import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeWorkDir } from './process.js';

/** Files made by {@link makeTestCertificates}: PEM paths, all in `dir`. */
export interface TestCertificates {
  /** The directory holding the files (under the harness's session directory, removed at exit). */
  dir: string;
  /** The throwaway CA's certificate: trust it in clients (`VOICETRACE_GATEWAY_CA_FILE`, `ca` of node:https). */
  ca: string;
  /** The server certificate for `127.0.0.1` and `localhost`, signed by `ca` (`VOICETRACE_GATEWAY_TLS_CERT`). */
  cert: string;
  /** The server certificate's unencrypted private key (`VOICETRACE_GATEWAY_TLS_KEY`). */
  key: string;
}

/**
 * Makes a throwaway CA and a server certificate signed by it for `127.0.0.1` and `localhost`
 * (P-256 keys, valid for 2 days), with the `openssl` command, in a fresh directory under the
 * harness's session directory (removed when the test process exits, unless VOICETRACE_KEEP_LOGS
 * is set). For gateway.yaml, whose OTLP receivers serve TLS, and its senders:
 *
 *   const certs = makeTestCertificates();
 *   const gateway = await startCollector({ configFiles: ['gateway.yaml'], env: {
 *     VOICETRACE_GATEWAY_TOKEN: token, VOICETRACE_GATEWAY_TLS_CERT: certs.cert, VOICETRACE_GATEWAY_TLS_KEY: certs.key } });
 *   const sidecar = await startCollector({ configFiles: ['sidecar-to-gateway.yaml'], env: {
 *     VOICETRACE_GATEWAY_ENDPOINTS: gateway.otlpGrpcEndpoint, VOICETRACE_GATEWAY_TOKEN: token, VOICETRACE_GATEWAY_CA_FILE: certs.ca } });
 *
 * Throws, saying so, when `openssl` is not on the PATH or fails.
 */
export function makeTestCertificates(): TestCertificates {
  const dir = makeWorkDir('tls');
  const run = (...args: string[]) => {
    try {
      execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
      if (e.code === 'ENOENT') throw new Error('makeTestCertificates: the openssl command is not on the PATH (install openssl: it makes the test TLS certificates)');
      throw new Error(`makeTestCertificates: openssl ${args[0]} failed: ${e.stderr?.toString('utf8').trim() || e.message}`);
    }
  };
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=voicetrace test CA');
  run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf');
  return { dir, ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}
