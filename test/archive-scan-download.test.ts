// Multi-scan downloads (`…/scans/ALL/files?format=zip`, `…/scans/1,2/files`) over real HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { basic, startTestServer } from './archive-helpers.ts';
import { zipEntries } from './helpers/zip.ts';

test('scans/ALL and comma lists zip every chosen scan in the pyxnat layout; others get 404', async () => {
  const server = await startTestServer();
  try {
    const { archive, users } = server.opened;
    await users.addUser({ login: 'stranger', password: 'pw' });
    await archive.createProject({ id: 'P' }, 'admin');
    const s = await archive.createSubject('P', { label: 's1' }, 'admin');
    const e = await archive.createSession(s.id, { label: 'e1' }, 'admin');
    for (const [id, type] of [['1', 'T1w'], ['2', 'T2w'], ['3', 'DWI']]) {
      await archive.createScan(e.id, { id, fields: { type } }, 'admin');
      const r = await archive.createResource({ kind: 'scan', session: e.id, scan: id }, { label: 'NIFTI' }, 'admin');
      await archive.putFile(r.id, `sub/scan${id}.nii`, Readable.from([Buffer.from(`data ${id}`)]), {}, 'admin');
    }
    const admin = basic('admin', server.adminPassword);
    const get = (path: string, headers = admin) => fetch(`${server.url}${path}`, { headers });

    const all = await get(`/data/experiments/${e.id}/scans/ALL/files?format=zip`);
    assert.equal(all.status, 200);
    assert.equal(all.headers.get('content-type'), 'application/zip');
    assert.deepEqual([...(await zipEntries(Buffer.from(await all.arrayBuffer()))).entries()].sort(), [
      ['e1/scans/1-T1w/resources/NIFTI/files/sub/scan1.nii', 'data 1'],
      ['e1/scans/2-T2w/resources/NIFTI/files/sub/scan2.nii', 'data 2'],
      ['e1/scans/3-DWI/resources/NIFTI/files/sub/scan3.nii', 'data 3'],
    ]);

    // IDs and types both select, as pyxnat's Scans.download(type=...) sends types.
    const some = await get('/data/projects/P/subjects/s1/experiments/e1/scans/1,DWI/files?format=zip');
    assert.equal(some.status, 200);
    assert.deepEqual([...(await zipEntries(Buffer.from(await some.arrayBuffer()))).keys()].sort(), [
      'e1/scans/1-T1w/resources/NIFTI/files/sub/scan1.nii', 'e1/scans/3-DWI/resources/NIFTI/files/sub/scan3.nii',
    ]);

    const listed = await get(`/data/experiments/${e.id}/scans/2/files?format=json`);
    const rows = (await listed.json() as { ResultSet: { Result: Array<{ Name: string }> } }).ResultSet.Result;
    assert.deepEqual(rows.map((r) => r.Name), ['sub/scan2.nii']);

    assert.equal((await get(`/data/experiments/${e.id}/scans/9,10/files?format=zip`)).status, 404);
    assert.equal((await get(`/data/experiments/${e.id}/scans/ALL/files?format=zip`, basic('stranger', 'pw'))).status, 404);
    assert.equal((await get(`/data/experiments/${e.id}/scans/ALL/files?format=zip`, {})).status, 401);
  } finally {
    await server.stop();
  }
});
