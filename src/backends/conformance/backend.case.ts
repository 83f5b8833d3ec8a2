/**
 * The behaviour every container backend must show — the executable form of `../types.ts` — as one suite each
 * backend's test file runs:
 *
 *   runBackendConformance({ name: 'docker', newBackend: () => createDockerBackend(), images: { ... } });
 *
 * A backend that cannot do something declares it: `skip: [{ reason: 'no separate stderr', tests: [...] }]`.
 * Skips must name existing tests (a stale skip fails the suite). Every test makes its own uniquely labelled
 * containers and the suite removes all of them at the end; nothing is faked.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isXcsError } from '../../core/errors.ts';
import { exitFailure } from '../failure.ts';
import type { BackendEvent, ContainerBackend, ContainerSpec, ContainerState, EventSubscription } from '../types.ts';

export interface BackendConformanceOptions {
  name: string;
  newBackend: () => Promise<ContainerBackend>;
  skip?: { reason: string; tests: string[] }[];
  /**
   * Images the backend can run: busybox (no entrypoint), and busybox with an entrypoint that prints
   * `entrypointMarker` on a line, then runs its arguments, in working directory `/image-workdir`.
   */
  images: { busybox: string; entrypoint: string; entrypointMarker: string };
}

/** Only a guard against a hung engine; no assertion depends on how fast anything is. */
const HANG_GUARD_MS = 120_000;

export const CONFORMANCE_TESTS = [
  'runs a container to exit 0 with events created, started, died',
  'reports a non-zero exit code and keeps stderr apart from stdout',
  'reports a container over its memory limit as OOM-killed',
  'kills a running container and reports how it ended',
  'keeps the image entrypoint and splits the command line into its arguments',
  'overrides the image entrypoint with /bin/sh -c',
  'honours the working directory',
  'passes the environment unchanged',
  'mounts read-only and writable host directories',
  'gives no network unless asked',
  'fails with backend.image-missing for an image the engine does not have',
  'fails with backend.mount-missing when a mount source does not exist',
  'fails with backend.mount-missing when a mount source vanished after create',
  'refuses to mount the engine socket',
  'follows logs live while the container runs',
  'lists containers by label and finds one by name for reconciliation',
  'delivers only events of containers with the subscribed labels',
  'treats missing containers as missing and cleanup as idempotent',
  'inspects an image: id, tags, labels, entrypoint and working directory',
  'reads logs since a time',
  'stops waiting when the wait is aborted, leaving the container running',
  'runs as the user asked for',
] as const;
export type ConformanceTest = (typeof CONFORMANCE_TESTS)[number];

async function guard<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${HANG_GUARD_MS} ms`)), HANG_GUARD_MS);
  });
  try {
    return await Promise.race([work, hang]);
  } finally {
    clearTimeout(timer);
  }
}

async function readAll(source: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of source) parts.push(chunk);
  return Buffer.concat(parts).toString('utf8');
}

/** Reads events until `done` says so (or the subscription ends), then closes it. */
async function collectUntil(sub: EventSubscription, done: (e: BackendEvent, all: BackendEvent[]) => boolean): Promise<BackendEvent[]> {
  const all: BackendEvent[] = [];
  try {
    for await (const e of sub) {
      all.push(e);
      if (done(e, all)) break;
    }
  } finally {
    sub.close();
  }
  return all;
}

async function rejectsWithCode(work: () => Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(work, (e: unknown) => {
    assert.ok(isXcsError(e), `expected an XcsError, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    assert.ok(e.message.length > 0);
    return true;
  });
}

export function runBackendConformance(options: BackendConformanceOptions): void {
  const images = options.images;
  const ENTRYPOINT_MARKER = images.entrypointMarker;
  const skipReason = new Map<string, string>();
  for (const s of options.skip ?? []) {
    for (const t of s.tests) {
      if (!(CONFORMANCE_TESTS as readonly string[]).includes(t)) throw new Error(`${options.name}: skip names an unknown test "${t}"`);
      skipReason.set(t, s.reason);
    }
  }

  describe(`container backend conformance: ${options.name}`, () => {
    const suiteId = randomUUID().slice(0, 8);
    const suiteLabel = 'org.xcs.test.conformance';
    let backend: ContainerBackend;
    let scratch: string;
    let counter = 0;

    before(async () => {
      backend = await options.newBackend();
      scratch = await mkdtemp(path.join(os.tmpdir(), 'xcs-conformance-'));
    });

    after(async () => {
      if (backend !== undefined) {
        for (const c of await backend.list({ labels: { [suiteLabel]: suiteId } })) await backend.remove(c.backendId);
        await backend.close();
      }
      if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
    });

    const it = (title: ConformanceTest, fn: () => Promise<void>): void => {
      const reason = skipReason.get(title);
      test(title, reason === undefined ? {} : { skip: reason }, () => guard(fn(), title));
    };

    /** A spec with a unique name and the suite's label; `caseLabel` tells this test's containers apart. */
    const spec = (over: Partial<ContainerSpec> & { commandLine: string }): ContainerSpec => {
      counter += 1;
      return {
        name: `xcs-conformance-${suiteId}-${counter}`,
        image: images.busybox,
        overrideEntrypoint: true,
        environment: {},
        mounts: [],
        resources: {},
        ...over,
        labels: { ...(over.labels ?? {}), [suiteLabel]: suiteId },
      };
    };

    const run = async (s: ContainerSpec): Promise<{ id: string; state: ContainerState; stdout: string; stderr: string }> => {
      const { backendId } = await backend.create(s);
      await backend.start(backendId);
      const state = await backend.wait(backendId);
      const stdout = await readAll(backend.logs(backendId, { stream: 'stdout' }));
      const stderr = backend.capabilities.separateStderr ? await readAll(backend.logs(backendId, { stream: 'stderr' })) : '';
      return { id: backendId, state, stdout, stderr };
    };

    const caseLabels = (): Record<string, string> => ({ 'org.xcs.test.case': randomUUID() });

    it('runs a container to exit 0 with events created, started, died', async () => {
      const labels = caseLabels();
      const sub = backend.events({ labels });
      const events = collectUntil(sub, (e) => e.status === 'died');
      const r = await run(spec({ commandLine: 'echo hello', labels }));
      assert.equal(r.state.status, 'exited');
      assert.equal(r.state.exitCode, 0);
      assert.equal(r.state.oomKilled, false);
      assert.equal(exitFailure(r.state), null);
      assert.equal(r.stdout, 'hello\n');
      const seen = await events;
      assert.deepEqual(
        seen.map((e) => e.status),
        ['created', 'started', 'died'],
      );
      assert.ok(seen.every((e) => e.backendId === r.id));
      assert.equal(seen[2].exitCode, 0);
      assert.equal(seen[0].labels['org.xcs.test.case'], labels['org.xcs.test.case']);
    });

    it('reports a non-zero exit code and keeps stderr apart from stdout', async () => {
      const r = await run(spec({ commandLine: 'echo to-stdout; echo to-stderr >&2; echo more-stdout; exit 3' }));
      assert.equal(r.state.status, 'exited');
      assert.equal(r.state.exitCode, 3);
      assert.equal(r.stdout, 'to-stdout\nmore-stdout\n');
      assert.equal(r.stderr, 'to-stderr\n');
      const failure = exitFailure(r.state);
      assert.equal(failure?.code, 'backend.non-zero-exit');
      assert.match(failure?.message ?? '', /code 3/);
      assert.ok(failure?.hint);
    });

    it('reports a container over its memory limit as OOM-killed', async () => {
      const labels = caseLabels();
      const sub = backend.events({ labels });
      const events = collectUntil(sub, (e) => e.status === 'died');
      // tail keeps the whole 64 MiB line in memory; the limit is 8 MiB.
      const r = await run(spec({ commandLine: 'head -c 64m /dev/zero | tail', labels, resources: { limitMemoryMiB: 8 } }));
      assert.equal(r.state.oomKilled, true);
      assert.notEqual(r.state.exitCode, 0);
      const failure = exitFailure(r.state);
      assert.equal(failure?.code, 'backend.oom-killed');
      assert.match(failure?.hint ?? '', /limit-memory/);
      const statuses = (await events).map((e) => e.status);
      assert.ok(statuses.includes('oom'), `events: ${statuses.join(', ')}`);
    });

    it('kills a running container and reports how it ended', async () => {
      const labels = caseLabels();
      const sub = backend.events({ labels });
      const events = collectUntil(sub, (e) => e.status === 'died');
      const { backendId } = await backend.create(spec({ commandLine: 'echo started; exec sleep 600', labels }));
      await backend.start(backendId);
      assert.equal((await backend.inspect(backendId)).status, 'running');
      await backend.kill(backendId);
      const state = await backend.wait(backendId);
      assert.equal(state.status, 'exited');
      assert.equal(state.exitCode, 137);
      assert.equal(state.oomKilled, false);
      assert.equal(exitFailure(state)?.code, 'backend.non-zero-exit');
      const seen = await events;
      assert.ok(seen.some((e) => e.status === 'killed'), `events: ${seen.map((e) => e.status).join(', ')}`);
      assert.equal(seen.at(-1)?.exitCode, 137);
      // Killing what has already stopped is not an error.
      await backend.kill(backendId);
    });

    it('keeps the image entrypoint and splits the command line into its arguments', async () => {
      const r = await run(
        spec({
          image: images.entrypoint,
          overrideEntrypoint: false,
          commandLine: `printf '[%s]\\n' "a b" 'c"d' e\\ f "" 'it''s' plain`,
        }),
      );
      assert.equal(r.state.exitCode, 0, r.stderr);
      assert.equal(r.stdout, `${ENTRYPOINT_MARKER}\n[a b]\n[c"d]\n[e f]\n[its]\n[plain]\n`);
    });

    it('overrides the image entrypoint with /bin/sh -c', async () => {
      const r = await run(spec({ image: images.entrypoint, overrideEntrypoint: true, commandLine: 'echo one && echo "$0"' }));
      assert.equal(r.state.exitCode, 0, r.stderr);
      assert.equal(r.stdout, 'one\n/bin/sh\n');
      assert.doesNotMatch(r.stdout, new RegExp(ENTRYPOINT_MARKER));
    });

    it('honours the working directory', async () => {
      const given = await run(spec({ commandLine: 'pwd', workingDirectory: '/tmp' }));
      assert.equal(given.stdout, '/tmp\n');
      const overImage = await run(spec({ image: images.entrypoint, overrideEntrypoint: false, commandLine: 'pwd', workingDirectory: '/etc' }));
      assert.equal(overImage.stdout, `${ENTRYPOINT_MARKER}\n/etc\n`);
      const imageDefault = await run(spec({ image: images.entrypoint, overrideEntrypoint: false, commandLine: 'pwd' }));
      assert.equal(imageDefault.stdout, `${ENTRYPOINT_MARKER}\n/image-workdir\n`);
    });

    it('passes the environment unchanged', async () => {
      const value = `a b $HOME 'q' "d" ; ü=1`;
      const r = await run(
        spec({
          commandLine: 'printf "%s|%s|%s" "$XCS_VALUE" "$XNAT_HOST" "$EMPTY"',
          environment: { XCS_VALUE: value, XNAT_HOST: 'http://127.0.0.1:8080', EMPTY: '' },
        }),
      );
      assert.equal(r.stdout, `${value}|http://127.0.0.1:8080|`);
    });

    it('mounts read-only and writable host directories', async () => {
      const input = path.join(scratch, `in-${randomUUID()}`);
      const output = path.join(scratch, `out-${randomUUID()}`);
      await mkdir(input);
      await mkdir(output);
      await writeFile(path.join(input, 'in.txt'), 'payload\n');
      const r = await run(
        spec({
          commandLine:
            'cat /input/in.txt > /output/out.txt && if touch /input/new 2>/dev/null; then echo ro-writable; else echo ro-refused; fi',
          mounts: [
            { hostPath: input, containerPath: '/input', writable: false },
            { hostPath: output, containerPath: '/output', writable: true },
          ],
        }),
      );
      assert.equal(r.state.exitCode, 0, r.stderr);
      assert.equal(r.stdout, 'ro-refused\n');
      assert.equal(await readFile(path.join(output, 'out.txt'), 'utf8'), 'payload\n');
      assert.equal(existsSync(path.join(input, 'new')), false);
    });

    it('gives no network unless asked', async () => {
      const r = await run(spec({ commandLine: 'ls /sys/class/net' }));
      assert.equal(r.stdout.trim(), 'lo');
      if (backend.capabilities.hostNetwork) {
        const host = await run(spec({ commandLine: 'ls /sys/class/net', network: 'host' }));
        assert.notEqual(host.stdout.trim(), 'lo', 'network host should show the host interfaces');
      }
    });

    it('fails with backend.image-missing for an image the engine does not have', async () => {
      const image = `xcs-conformance/no-such-image-${suiteId}:never`;
      await rejectsWithCode(() => backend.create(spec({ commandLine: 'true', image })), 'backend.image-missing');
    });

    it('fails with backend.mount-missing when a mount source does not exist', async () => {
      const gone = path.join(scratch, `never-created-${randomUUID()}`);
      const s = spec({ commandLine: 'true', mounts: [{ hostPath: gone, containerPath: '/input', writable: false }] });
      await rejectsWithCode(async () => {
        const { backendId } = await backend.create(s);
        await backend.start(backendId);
      }, 'backend.mount-missing');
    });

    it('fails with backend.mount-missing when a mount source vanished after create', async () => {
      const dir = path.join(scratch, `vanishing-${randomUUID()}`);
      await mkdir(dir);
      const { backendId } = await backend.create(spec({ commandLine: 'true', mounts: [{ hostPath: dir, containerPath: '/data', writable: true }] }));
      await rm(dir, { recursive: true });
      await rejectsWithCode(() => backend.start(backendId), 'backend.mount-missing');
      // Nothing was created on the host in its place.
      assert.equal(existsSync(dir), false);
    });

    it('refuses to mount the engine socket', async () => {
      for (const hostPath of ['/var/run/docker.sock', '/run/docker.sock', '/var/run', '/', '/tmp/../run/x']) {
        await rejectsWithCode(
          () => backend.create(spec({ commandLine: 'true', mounts: [{ hostPath, containerPath: '/x', writable: false }] })),
          'backend.mount-forbidden',
        );
      }
    });

    it('follows logs live while the container runs', async () => {
      const gate = path.join(scratch, `gate-${randomUUID()}`);
      await mkdir(gate);
      // The container prints, then blocks until the test opens the gate: lines seen before the gate opens
      // were necessarily delivered while it was running.
      const { backendId } = await backend.create(
        spec({
          commandLine: 'echo first; while [ ! -e /gate/open ]; do sleep 0.05; done; echo second; echo oops >&2',
          mounts: [{ hostPath: gate, containerPath: '/gate', writable: false }],
        }),
      );
      await backend.start(backendId);
      let text = '';
      let runningAtFirstLine: string | undefined;
      for await (const chunk of backend.logs(backendId, { stream: 'stdout', follow: true })) {
        text += chunk.toString('utf8');
        if (runningAtFirstLine === undefined && text.includes('first\n')) {
          runningAtFirstLine = (await backend.inspect(backendId)).status;
          await writeFile(path.join(gate, 'open'), '');
        }
      }
      assert.equal(runningAtFirstLine, 'running');
      assert.equal(text, 'first\nsecond\n');
      assert.equal((await backend.wait(backendId)).exitCode, 0);
      // After the end, following returns what there is and stops.
      assert.equal(await readAll(backend.logs(backendId, { stream: 'stdout', follow: true })), 'first\nsecond\n');
    });

    it('lists containers by label and finds one by name for reconciliation', async () => {
      const labels = caseLabels();
      const a = await backend.create(spec({ commandLine: 'true', labels }));
      const b = await backend.create(spec({ commandLine: 'true', labels }));
      await backend.create(spec({ commandLine: 'true', labels: caseLabels() }));
      const listed = await backend.list({ labels });
      assert.deepEqual(listed.map((c) => c.backendId).sort(), [a.backendId, b.backendId].sort());
      for (const c of listed) {
        assert.equal(c.status, 'created');
        assert.equal(c.labels['org.xcs.managed'], 'true');
        assert.equal(c.labels['org.xcs.test.case'], labels['org.xcs.test.case']);
      }
      const found = await backend.findByName(a.name);
      assert.equal(found?.backendId, a.backendId);
      assert.equal(found?.name, a.name);
      // Names are matched exactly, not as prefixes.
      assert.equal(await backend.findByName(`xcs-conformance-${suiteId}`), null);
      assert.equal(await backend.findByName(`xcs-conformance-missing-${randomUUID()}`), null);
      await rejectsWithCode(() => backend.create(spec({ commandLine: 'true', name: a.name })), 'backend.name-conflict');
    });

    it('delivers only events of containers with the subscribed labels', async () => {
      const mine = caseLabels();
      const sub = backend.events({ labels: mine });
      const events = collectUntil(sub, (e) => e.status === 'died');
      await run(spec({ commandLine: 'true', labels: caseLabels() }));
      const r = await run(spec({ commandLine: 'true', labels: mine }));
      const seen = await events;
      assert.ok(seen.length >= 3);
      assert.ok(seen.every((e) => e.backendId === r.id), `foreign events: ${seen.filter((e) => e.backendId !== r.id).length}`);
    });

    it('treats missing containers as missing and cleanup as idempotent', async () => {
      const id = `xcs-conformance-nothing-${randomUUID()}`;
      assert.equal((await backend.inspect(id)).status, 'missing');
      await backend.remove(id);
      await rejectsWithCode(() => backend.start(id), 'backend.not-found');
      const { backendId } = await backend.create(spec({ commandLine: 'true' }));
      await backend.remove(backendId);
      await backend.remove(backendId);
      assert.equal((await backend.inspect(backendId)).status, 'missing');
    });

    it('inspects an image: id, tags, labels, entrypoint and working directory', async () => {
      const info = await backend.inspectImage(images.entrypoint);
      assert.ok(info !== null, `${images.entrypoint} should be on the engine`);
      assert.match(info.id, /^sha256:[0-9a-f]{64}$/);
      assert.ok(info.tags.includes(images.entrypoint), `tags: ${info.tags.join(', ')}`);
      assert.equal(typeof info.labels, 'object');
      assert.ok(info.entrypoint !== null && info.entrypoint.length > 0, 'the entrypoint image has an entrypoint');
      assert.equal(info.workingDir, '/image-workdir');
      // By id as well as by reference, and the same image either way.
      assert.equal((await backend.inspectImage(info.id))?.id, info.id);
      assert.ok((await backend.listImages()).some((i) => i.id === info.id));
      assert.equal(await backend.inspectImage(`xcs-conformance/no-such-image-${suiteId}:never`), null);
    });

    it('reads logs since a time', async () => {
      const gate = path.join(scratch, `gate-${randomUUID()}`);
      await mkdir(gate);
      const { backendId } = await backend.create(spec({
        commandLine: 'echo early; while [ ! -e /gate/open ]; do sleep 0.05; done; echo late',
        mounts: [{ hostPath: gate, containerPath: '/gate', writable: false }],
      }));
      await backend.start(backendId);
      let text = '';
      let middle: Date | undefined;
      for await (const chunk of backend.logs(backendId, { stream: 'stdout', follow: true })) {
        text += chunk.toString('utf8');
        if (middle === undefined && text.includes('early\n')) {
          // Well apart from both lines, so that an engine keeping whole seconds only still splits them here.
          await sleep(1100);
          middle = new Date();
          await sleep(100);
          await writeFile(path.join(gate, 'open'), '');
        }
      }
      assert.equal(text, 'early\nlate\n');
      assert.ok(middle !== undefined);
      assert.equal(await readAll(backend.logs(backendId, { stream: 'stdout', since: middle })), 'late\n');
      assert.equal(await readAll(backend.logs(backendId, { stream: 'stdout', since: new Date(0) })), 'early\nlate\n');
    });

    it('stops waiting when the wait is aborted, leaving the container running', async () => {
      const { backendId } = await backend.create(spec({ commandLine: 'exec sleep 600' }));
      await backend.start(backendId);
      const abort = new AbortController();
      const waiting = backend.wait(backendId, { signal: abort.signal });
      setTimeout(() => abort.abort(new Error('stop waiting')), 200);
      await assert.rejects(waiting);
      assert.equal((await backend.inspect(backendId)).status, 'running');
      await backend.kill(backendId);
      assert.equal((await backend.wait(backendId)).status, 'exited');
    });

    it('runs as the user asked for', async () => {
      const r = await run(spec({ commandLine: 'id -u; id -g', user: '1234:2345' }));
      assert.equal(r.state.exitCode, 0, r.stderr);
      assert.equal(r.stdout, '1234\n2345\n');
      const root = await run(spec({ commandLine: 'id -u' }));
      assert.equal(root.stdout, '0\n', 'without a user the image\'s default (root for busybox)');
    });
  });
}
