/**
 * Archive benchmarks: (1) listing a resource of 10,000 files over HTTP (target ≤ 100 ms, median of 20);
 * (2) uploading 1 GB to an `xcs serve` subprocess, sampling its resident memory (target < 200 MB), with
 * `cp` of the same file as the throughput baseline.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, timeRuns, type Bench, type BenchResult } from './lib.ts';
import { startServer } from '../src/app/server.ts';

const auth = (pw: string) => `Basic ${Buffer.from(`admin:${pw}`).toString('base64')}`;

async function listing(): Promise<BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-bench-list-'));
  process.env.XCS_ADMIN_PASSWORD = 'bench-pw';
  const s = await startServer({ port: 0, dataDir: join(dir, 'data') });
  delete process.env.XCS_ADMIN_PASSWORD;
  try {
    const a = s.opened.archive;
    await a.createProject({ id: 'B' }, 'admin');
    const subj = await a.createSubject('B', { label: 's' }, 'admin');
    const sess = await a.createSession(subj.id, { label: 'e' }, 'admin');
    await a.createScan(sess.id, { id: '1' }, 'admin');
    const stage = join(a.stagingDir(), 'bench');
    await mkdir(stage, { recursive: true });
    for (let i = 0; i < 10_000; i++) await writeFile(join(stage, `IM${String(i).padStart(5, '0')}.dcm`), String(i));
    await a.commitResource({ kind: 'scan', session: sess.id, scan: '1' }, { label: 'DICOM' }, stage, { idempotencyKey: 'b' }, 'admin');
    const url = `${s.url}/data/experiments/${sess.id}/scans/1/resources/DICOM/files?format=json`;
    const headers = { authorization: auth('bench-pw') };
    let count = 0;
    await fetch(url, { headers }).then((r) => r.json());
    const times = await timeRuns(20, async () => {
      const body = (await (await fetch(url, { headers })).json()) as { ResultSet: { Result: unknown[] } };
      count = body.ResultSet.Result.length;
    });
    if (count !== 10_000) throw new Error(`listing returned ${count} files`);
    const m = median(times);
    return { name: 'list a resource of 10,000 files (HTTP, JSON, median of 20)', unit: 'ms', baseline: null, ours: m,
      better: 'lower', target: '<= 100 ms', met: m <= 100 };
  } finally {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

async function upload(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-bench-upload-'));
  const big = join(dir, 'big.bin');
  const size = 1024 ** 3;
  const fh = await open(big, 'w');
  const chunk = Buffer.alloc(8 * 1024 * 1024, 0x5a);
  for (let off = 0; off < size; off += chunk.length) await fh.write(chunk, 0, chunk.length, off);
  await fh.close();
  const xcs = fileURLToPath(new URL('../bin/xcs', import.meta.url));
  const child = spawn(xcs, ['serve', '--port', '0', '--data', join(dir, 'data')], {
    env: { ...process.env, XCS_ADMIN_PASSWORD: 'bench-pw' }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const base = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.on('exit', () => reject(new Error(`xcs serve exited: ${out}`)));
    });
    const headers = { authorization: auth('bench-pw') };
    for (const p of ['/data/projects/U', '/data/projects/U/subjects/s', '/data/projects/U/subjects/s/experiments/e?xsiType=xnat:mrSessionData',
      '/data/projects/U/subjects/s/experiments/e/resources/BIG']) {
      const r = await fetch(base + p, { method: 'PUT', headers });
      if (r.status >= 300) throw new Error(`${p}: ${r.status}`);
    }
    let peak = rssMb(child.pid!);
    const timer = setInterval(() => { peak = Math.max(peak, rssMb(child.pid!)); }, 20);
    const t0 = performance.now();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/data/projects/U/subjects/s/experiments/e/resources/BIG/files/big.bin?inbody=true`, {
        method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(size) },
      }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
      req.on('error', reject);
      createReadStream(big, { highWaterMark: 1024 * 1024 }).pipe(req);
    });
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(timer);
    if (status !== 200) throw new Error(`upload answered ${status}`);
    const c0 = performance.now();
    spawnSync('cp', [big, join(dir, 'copy.bin')]);
    const cpSeconds = (performance.now() - c0) / 1000;
    const mbps = 1024 / seconds;
    return [
      { name: 'upload 1 GB over HTTP: server peak RSS', unit: 'MB', baseline: null, ours: peak, better: 'lower',
        target: '< 200 MB', met: peak < 200 },
      { name: 'upload 1 GB over HTTP: throughput (MD5 while streaming)', unit: 'MB/s', baseline: 1024 / cpSeconds,
        baselineLabel: 'cp', ours: mbps, better: 'higher', target: 'report only', met: true },
    ];
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  }
}

const bench: Bench = {
  name: 'archive',
  async run() {
    return [await listing(), ...(await upload())];
  },
};
export default bench;
