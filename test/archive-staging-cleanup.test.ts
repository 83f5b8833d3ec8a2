import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openEmbeddedArchive } from '../src/archive/open.ts';
import { basic, startTestServer } from './archive-helpers.ts';

const HOURS_AGO = (h: number) => new Date(Date.now() - h * 3600_000);

async function age(path: string, when: Date): Promise<void> {
  await utimes(path, when, when);
}

test('opening a data dir removes staging entries untouched for an hour, keeps fresh ones and .uploads', async () => {
  const s = await startTestServer();
  try {
    const staging = s.opened.archive.stagingDir();
    const old = HOURS_AGO(2);
    // Left by crashed processes: a DICOM import, a finalization, a temporary upload.
    for (const d of ['dicom-import-crashed', 'finalize-run_7']) {
      await mkdir(join(staging, d, 'incoming', 'deep'), { recursive: true });
      await writeFile(join(staging, d, 'incoming', 'deep', 'f.dcm'), 'x');
      for (const p of [join(d, 'incoming', 'deep', 'f.dcm'), join(d, 'incoming', 'deep'), join(d, 'incoming'), d]) await age(join(staging, p), old);
    }
    await writeFile(join(staging, '.uploads', 'crashed-upload'), 'partial');
    await age(join(staging, '.uploads', 'crashed-upload'), old);
    // Another process's work: a fresh directory, and an old directory where a file was just written.
    await mkdir(join(staging, 'dicom-upload-live'));
    await writeFile(join(staging, 'dicom-upload-live', 'part'), 'y');
    await mkdir(join(staging, 'finalize-busy', '0'), { recursive: true });
    await writeFile(join(staging, 'finalize-busy', '0', 'new.nii'), 'z');
    await age(join(staging, 'finalize-busy', '0'), old);
    await age(join(staging, 'finalize-busy'), old);

    const other = await openEmbeddedArchive(s.opened.dataDir);
    await other.close();

    assert.deepEqual((await readdir(staging)).sort(), ['.uploads', 'dicom-upload-live', 'finalize-busy']);
    assert.deepEqual(await readdir(join(staging, '.uploads')), []);
    assert.equal(await readFile(join(staging, 'finalize-busy', '0', 'new.nii'), 'utf8'), 'z');

    // A shorter threshold makes the same fresh entries stale.
    const strict = await openEmbeddedArchive(s.opened.dataDir, { stagingMaxAgeMs: -1000 });
    await strict.close();
    assert.deepEqual(await readdir(staging), ['.uploads']);
  } finally {
    await s.stop();
  }
});

test('an upload in progress on a running server survives another process opening the data dir', async () => {
  const s = await startTestServer();
  try {
    const auth = basic('admin', s.adminPassword);
    const put = async (path: string) => {
      const r = await fetch(`${s.url}${path}`, { method: 'PUT', headers: auth });
      assert.ok(r.status < 300, `${path}: ${r.status}`);
    };
    await put('/data/projects/P?xsiType=xnat:projectData');
    await put('/data/projects/P/resources/R');
    const uploads = join(s.opened.archive.stagingDir(), '.uploads');
    const url = new URL(`${s.url}/data/projects/P/resources/R/files/big.bin?inbody=true`);
    const chunk = Buffer.alloc(64 * 1024, 7);
    const done = new Promise<number>((resolve, reject) => {
      const req = request(url, { method: 'PUT', agent: false, headers: { ...auth, 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.write(chunk);
      void (async () => {
        // The server's temporary file exists: the upload is in progress when the CLI opens the data dir.
        for (let i = 0; i < 200 && (await readdir(uploads)).length === 0; i++) await sleep(10);
        const cli = await openEmbeddedArchive(s.opened.dataDir);
        await cli.close();
        req.end(chunk);
      })().catch(reject);
    });
    assert.equal(await done, 200);
    const got = await fetch(`${s.url}/data/projects/P/resources/R/files/big.bin`, { headers: auth });
    assert.equal(got.status, 200);
    assert.equal(Buffer.from(await got.arrayBuffer()).length, 2 * chunk.length);
  } finally {
    await s.stop();
  }
});
