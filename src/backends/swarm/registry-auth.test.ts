import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type Docker from 'dockerode';
import type { ContainerSpec } from '../types.ts';
import { SwarmBackend } from './swarm-backend.ts';

interface Dialled { path: string; method: string; options: Record<string, unknown>; authconfig?: Record<string, string> }

/** The engine client the backend already uses, with its calls recorded: the service creation is what is checked. */
function fakeEngine(localImage: boolean): { docker: Docker; calls: Dialled[] } {
  const calls: Dialled[] = [];
  const docker = {
    modem: {
      dial(o: Dialled & { isStream?: boolean }, callback: (error: unknown, result: unknown) => void): void {
        calls.push({ path: o.path, method: o.method, options: o.options, ...(o.authconfig === undefined ? {} : { authconfig: o.authconfig }) });
        if (o.path.startsWith('/services/create')) return callback(null, { ID: 'svc1' });
        // The task watcher's event stream: one that ends at once.
        return callback(null, (async function* () { /* no events */ })());
      },
    },
    getImage: () => ({
      inspect: async () => {
        if (!localImage) throw Object.assign(new Error('No such image'), { statusCode: 404 });
        return { Id: 'sha256:1234', RepoTags: ['127.0.0.1:5999/lab/tool:1'], Config: {} };
      },
    }),
  } as unknown as Docker;
  return { docker, calls };
}

const spec = (over: Partial<ContainerSpec> = {}): ContainerSpec => ({
  name: 'xcs-run-7', image: '127.0.0.1:5999/lab/tool:1', commandLine: 'run', overrideEntrypoint: false, environment: {},
  mounts: [], labels: {}, resources: {}, ...over,
});
const auth = { username: 'robot', password: 's3cret-pw', serverAddress: 'http://127.0.0.1:5999' };

async function created(localImage: boolean, s: ContainerSpec): Promise<{ create: Dialled; all: Dialled[] }> {
  const { docker, calls } = fakeEngine(localImage);
  const backend = new SwarmBackend(docker, new http.Agent(), 'unix:///fake.sock', '1.41');
  try {
    await backend.create(s);
  } finally {
    await backend.close();
  }
  const create = calls.find((c) => c.path.startsWith('/services/create'));
  assert.ok(create, 'the service was created');
  return { create, all: calls };
}

test('with a hub\'s credentials the service runs the image by reference and the auth goes in the header only', async () => {
  const { create } = await created(false, spec({ registryAuth: auth }));
  // dockerode's createService(auth, opts) sends this as X-Registry-Auth.
  assert.deepEqual(create.authconfig, { username: 'robot', password: 's3cret-pw', serveraddress: 'http://127.0.0.1:5999' });
  const body = create.options._body as Docker.CreateServiceOptions;
  assert.equal((body.TaskTemplate as { ContainerSpec: { Image: string } }).ContainerSpec.Image, '127.0.0.1:5999/lab/tool:1');
  // The stored spec carries neither the password nor the user name (what `docker service inspect` and XCS's records show).
  assert.doesNotMatch(JSON.stringify(create.options), /s3cret-pw|robot/);
});

test('without credentials the image is resolved to its id on the manager and no auth is sent, as before', async () => {
  const { create } = await created(true, spec());
  assert.equal(create.authconfig, undefined);
  const body = create.options._body as Docker.CreateServiceOptions;
  assert.equal((body.TaskTemplate as { ContainerSpec: { Image: string } }).ContainerSpec.Image, 'sha256:1234');
});

test('without credentials an image missing on the manager is refused; with them the nodes may pull it', async () => {
  const { docker } = fakeEngine(false);
  const backend = new SwarmBackend(docker, new http.Agent(), 'unix:///fake.sock', '1.41');
  try {
    await assert.rejects(backend.create(spec()), (e: unknown) => (e as { code?: string }).code === 'backend.image-missing');
  } finally {
    await backend.close();
  }
  const { create } = await created(false, spec({ registryAuth: auth }));
  assert.ok(create.authconfig);
});
