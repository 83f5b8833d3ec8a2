import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isXcsError } from '../../core/errors.ts';
import { openRunDatabase } from '../store/db.ts';
import { JobLease } from '../store/job-lease.ts';
import { LeaseStore } from './leases.ts';
import { ReplicaRegistry, thisReplica, type ReplicaIdentity } from './replicas.ts';
import { JobQueue } from '../store/queue.ts';
import type { EngineResources } from '../resources.ts';

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'xcs-replicas-unit-'));
  let clock = 1_000_000;
  const now = (): number => clock;
  // Two connections to one file: two replicas.
  const a = openRunDatabase(join(dir, 'runs.sqlite'));
  const b = openRunDatabase(join(dir, 'runs.sqlite'));
  return {
    a, b, now, tick(ms: number) { clock += ms; },
    done() { a.close(); b.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}

test('events lease: one holder at a time, renewed by it, taken by another only once expired or released', () => {
  const t = setup();
  try {
    const la = new LeaseStore(t.a, t.now);
    const lb = new LeaseStore(t.b, t.now);
    assert.equal(la.acquire('events:x', 'A', 1000), true);
    assert.equal(lb.acquire('events:x', 'B', 1000), false, 'held by A');
    t.tick(600);
    assert.equal(la.acquire('events:x', 'A', 1000), true, 'A renews');
    t.tick(600);
    assert.equal(lb.acquire('events:x', 'B', 1000), false, 'renewed: not expired yet');
    t.tick(500);
    assert.equal(lb.acquire('events:x', 'B', 1000), true, 'expired: B takes it');
    assert.equal(la.acquire('events:x', 'A', 1000), false, 'A lost it');
    assert.deepEqual(la.holder('events:x'), { owner: 'B', expiresAt: t.now() + 1000 });
    lb.release('events:x', 'B');
    assert.equal(la.acquire('events:x', 'A', 1000), true, 'released: A takes it at once');
    assert.equal(lb.releaseOwner('A'), 1);
    assert.equal(la.holder('events:x'), undefined);
  } finally { t.done(); }
});

test('replicas: a silent one is dead after the lease; one whose process is gone from this PID namespace at once', async () => {
  const t = setup();
  try {
    const self = thisReplica();
    const mine = new ReplicaRegistry(t.a, self, t.now);
    // A neighbour on another machine (no comparable PID namespace): only its heartbeat tells.
    const remote: ReplicaIdentity = { id: 'remote-1', host: 'elsewhere', pid: 1, pidNamespace: 'other-boot/pid:[1]' };
    const other = new ReplicaRegistry(t.b, remote, t.now);
    mine.heartbeat();
    other.heartbeat();
    t.tick(3000);
    mine.heartbeat();
    assert.deepEqual(mine.dead(5000), [], 'within the lease');
    t.tick(2500);
    assert.deepEqual(mine.dead(5000), ['remote-1'], 'silent longer than the lease');
    assert.deepEqual(mine.forget(['remote-1']), ['remote-1']);
    assert.deepEqual(mine.forget(['remote-1']), [], 'forgotten once');

    // A neighbour in our PID namespace: dead as soon as its process is.
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const local = new ReplicaRegistry(t.b, { ...self, id: 'local-1', pid: child.pid! }, t.now);
    local.heartbeat();
    assert.deepEqual(mine.dead(5000), [], 'its process runs');
    await new Promise((r) => { child.once('exit', r); child.kill('SIGKILL'); });
    assert.deepEqual(mine.dead(5000), ['local-1'], 'its process is gone: dead before its heartbeat ages');
    // Our own pid under another id: this process's previous incarnation.
    new ReplicaRegistry(t.b, { ...self, id: 'previous' }, t.now).heartbeat();
    assert.ok(mine.dead(5000).includes('previous'));
    mine.leave();
    assert.ok(!mine.list().some((r) => r.id === self.id));
  } finally { t.done(); }
});

test('jobs: two replicas never claim one job; a worker whose job was taken back stops at its next step', () => {
  const t = setup();
  try {
    const qa = new JobQueue(t.a, t.now);
    const qb = new JobQueue(t.b, t.now);
    for (let run = 1; run <= 20; run++) qa.enqueue('stage', run);
    const won = new Map<number, string>();
    for (let i = 0; i < 20; i++) {
      for (const [q, owner] of [[qa, 'A'], [qb, 'B']] as const) {
        const job = q.claim('stage', owner, 1000);
        if (!job) continue;
        assert.ok(!won.has(job.runId), `run ${job.runId} claimed twice`);
        won.set(job.runId, owner);
      }
    }
    assert.equal(won.size, 20);
    const jobA = qa.get('stage', [...won].find(([, o]) => o === 'A')![0])!;
    const logged: string[] = [];
    const res = { queue: qa, owner: 'A', config: { leaseMs: 1000 }, log: { warn: (m: string) => logged.push(m) } } as unknown as EngineResources;
    const lease = new JobLease(res, jobA);
    lease.hold('creating the container');
    // A is taken for dead: B gets the job back and claims it.
    assert.equal(qb.releaseLeasesOf('A') >= 1, true);
    assert.equal(qb.claimRun('stage', jobA.runId, 'B', 1000)?.leaseOwner, 'B');
    assert.throws(() => lease.hold('uploading the outputs'), (e: unknown) => isXcsError(e) && e.code === 'job.lease-lost');
    assert.equal(lease.lost, true);
    assert.equal(qa.complete(jobA.id, 'A'), false, 'A cannot complete it either');
    assert.match(logged.join(), /another replica took it/);
  } finally { t.done(); }
});
