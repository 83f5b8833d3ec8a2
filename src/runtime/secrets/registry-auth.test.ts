import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRunDatabase } from '../store/db.ts';
import { JobQueue } from '../store/queue.ts';
import { registryAuthFor, registryOfHub, registryOfImage } from './registry-auth.ts';
import type { EngineResources } from '../resources.ts';
import { RunStore } from '../store/run-store.ts';
import { simpleRunSpec } from '../store/simple-spec.ts';
import { defaultSiteSettings } from '../settings/site-settings.ts';
import { containerSpec } from '../staging/starter.ts';
import { dropDataDirSchemas } from '../../../test/helpers/postgres.ts';

const hubs = [
  { url: 'https://index.docker.io/v1/', username: null, password: null },
  { url: 'https://registry.example.org', username: 'robot', password: 'pw1' },
  { url: 'http://127.0.0.1:5999', username: 'local', password: 'pw2' },
];

test('the registry of an image reference follows the engine\'s rule (a host has a dot, a port or is localhost)', () => {
  assert.equal(registryOfImage('xnat/dcm2niix:1'), 'docker.io');
  assert.equal(registryOfImage('busybox'), 'docker.io');
  assert.equal(registryOfImage('registry.example.org/lab/tool:2'), 'registry.example.org');
  assert.equal(registryOfImage('127.0.0.1:5999/lab/tool'), '127.0.0.1:5999');
  assert.equal(registryOfImage('localhost/tool'), 'localhost');
  assert.equal(registryOfImage('sha256:' + 'a'.repeat(64)), null);
  assert.equal(registryOfHub('https://index.docker.io/v1/'), 'docker.io');
  assert.equal(registryOfHub('registry.example.org'), 'registry.example.org');
});

test('the credentials of the hub serving the image\'s registry; none for a hub without a user or another registry', () => {
  assert.deepEqual(registryAuthFor('registry.example.org/lab/tool:2', hubs),
    { username: 'robot', password: 'pw1', serverAddress: 'https://registry.example.org' });
  assert.deepEqual(registryAuthFor('127.0.0.1:5999/lab/tool', hubs), { username: 'local', password: 'pw2', serverAddress: 'http://127.0.0.1:5999' });
  // Docker Hub is configured without a user: anonymous, nothing passed.
  assert.equal(registryAuthFor('xnat/dcm2niix:1', hubs), undefined);
  assert.equal(registryAuthFor('other.example.org/tool', hubs), undefined);
  // A look-alike host is not the hub's registry.
  assert.equal(registryAuthFor('registry.example.org.evil.net/tool', hubs), undefined);
  assert.equal(registryAuthFor('sha256:' + 'b'.repeat(64), hubs), undefined);
});

test('the starter puts the hub\'s credentials on the container spec only: the run record never holds them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xcs-registry-auth-'));
  const db = openRunDatabase(join(dir, 'runs.sqlite'));
  try {
    const store = new RunStore(db, new JobQueue(db));
    const run = store.create({ spec: simpleRunSpec({ image: 'registry.example.org/lab/tool:2', commandLine: 'true' }), userId: 'alice',
      project: 'P1', containerNamePattern: 'xcs-t-run-{id}' });
    const res = {
      config: { instanceId: 't', site: defaultSiteSettings(), serverUrl: () => 'http://127.0.0.1:8080' },
      registryAuth: (image: string) => registryAuthFor(image, hubs),
    } as unknown as EngineResources;
    const spec = containerSpec(res, run, { environment: {}, mounts: [] });
    assert.deepEqual(spec.registryAuth, { username: 'robot', password: 'pw1', serverAddress: 'https://registry.example.org' });
    assert.doesNotMatch(JSON.stringify(store.require(run.id)), /pw1/);
    // Without a source (or a hub with credentials) nothing is set.
    assert.equal(containerSpec({ ...res, registryAuth: undefined }, run, { environment: {}, mounts: [] }).registryAuth, undefined);
  } finally {
    db.close();
    dropDataDirSchemas(dir); rmSync(dir, { recursive: true, force: true });
  }
});
