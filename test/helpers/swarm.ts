/**
 * The multi-node swarm the swarm backend's tests run on, formed by `scripts/swarm-harness.sh` (idempotent; a drained
 * manager on the local engine and two workers, `xcs-node=worker-1|worker-2`, all on 127.0.0.0/8). Tests skip with
 * the harness's own message only when it cannot be formed here (no dockerd, not root); CI always forms it.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The worker engines' sockets (for checks that look at a node directly). */
export const SWARM_WORKERS = {
  'worker-1': 'unix:///run/xcs-swarm-worker-1/docker.sock',
  'worker-2': 'unix:///run/xcs-swarm-worker-2/docker.sock',
} as const;

/**
 * worker-1 is the node test/e2e-swarm.test.ts freezes (SIGSTOP of its engine) to see a node go down; every other swarm
 * test runs on worker-2 (test files run two at a time), with this constraint.
 */
export const SWARM_STEADY_NODE = 'node.labels.xcs-node==worker-2';

/** The worker engines' pid files: a test stops one (SIGSTOP) to see its node go down, then lets it go on. */
export const SWARM_WORKER_PIDFILES = {
  'worker-1': '/run/xcs-swarm-worker-1/dockerd.pid',
  'worker-2': '/run/xcs-swarm-worker-2/dockerd.pid',
} as const;

let ready: Promise<string | null> | undefined;

/** Null once the swarm stands; otherwise why it cannot (the reason to skip with). */
export function swarmHarness(): Promise<string | null> {
  ready ??= promisify(execFile)('bash', ['scripts/swarm-harness.sh'], { cwd: repoRoot, maxBuffer: 10 * 1024 * 1024 }).then(
    () => null,
    (e: Error & { stderr?: string }) => `no swarm here: scripts/swarm-harness.sh failed: ${(e.stderr ?? e.message).trim().split('\n').slice(-3).join(' / ')}`,
  );
  return ready;
}
