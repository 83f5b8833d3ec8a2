/**
 * `bin/xcs serve` as a subprocess for the benchmarks that measure the server from outside (status stream), with
 * a busybox command registered and enabled at site level so that real runs can be launched (Docker needed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BENCH_PASSWORD = 'bench-pw-ops';
export const benchAuth = `Basic ${Buffer.from(`admin:${BENCH_PASSWORD}`).toString('base64')}`;

export interface BenchServer {
  child: ChildProcess;
  url: string;
  launch(msg: string): Promise<number>;
  /** Resolves once the run ended (the server then removes its container). */
  waitEnded(id: number): Promise<void>;
  stop(): Promise<void>;
}

export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function api<T>(url: string, method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(url + path, { method, headers: { authorization: benchAuth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/** Starts the server (log level warn: the benchmark measures the stream, not the log) and registers the command. */
export async function startBenchServer(dataDir: string): Promise<BenchServer> {
  const child = spawn(join(root, 'bin/xcs'), ['serve', '--port', '0', '--host', '127.0.0.1', '--data', dataDir, '--log-level', 'warn'], {
    env: { ...process.env, XCS_ADMIN_USER: 'admin', XCS_ADMIN_PASSWORD: BENCH_PASSWORD }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (b: Buffer): void => {
      out += b.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`xcs serve exited (${code}): ${out}`)));
  });
  const command = {
    name: 'bench-echo', version: '1', image: 'xcs-test/busybox:latest', type: 'docker', 'override-entrypoint': true,
    'command-line': 'echo #MSG#', inputs: [{ name: 'msg', 'replacement-key': '#MSG#' }],
    xnat: [{ name: 'bench-echo-site', contexts: [], 'external-inputs': [{ name: 'msg', type: 'string', required: true, 'provides-value-for-command-input': 'msg' }] }],
  };
  const id = await api<number>(url, 'POST', '/xapi/commands', command);
  const wrapper = (await api<{ xnat: Array<{ id: number }> }>(url, 'GET', `/xapi/commands/${id}`)).xnat[0].id;
  await api(url, 'PUT', `/xapi/wrappers/${wrapper}/enabled`);
  return {
    child, url,
    launch: async (msg) => (await api<{ id: number }>(url, 'POST', `/xapi/wrappers/${wrapper}/root/msg/launch`, { msg })).id,
    waitEnded: async (id) => {
      while (!/^(Complete|Failed|Killed)/.test((await api<{ status: string }>(url, 'GET', `/xapi/containers/${id}`)).status)) {
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Milliseconds of an XNAT-style time (`2026-12-06T21:00:00.123+0000`), as the stream's `time` field. */
export function xnatTimeMs(t: string): number {
  return Date.parse(t.replace(/\+0000$/, 'Z'));
}
