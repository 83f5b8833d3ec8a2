/**
 * Makes sure the Docker engine answers and the local test images exist, once per test process, by running
 * `scripts/docker-harness.sh` (idempotent and cached; nothing is pulled).
 */
import { execFile } from 'node:child_process';
import { createConnection, createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Tags the harness builds (see `docker/images/<name>/tag`). */
export const TEST_IMAGES = {
  /** busybox in a FROM-scratch image; CMD /bin/sh, no entrypoint. */
  busybox: 'xcs-test/busybox:latest',
  /** busybox with ENTRYPOINT printing `xcs-entrypoint-ran` then exec-ing its arguments; WORKDIR /image-workdir. */
  entrypoint: 'xcs-test/entrypoint:latest',
  dcm2niix: 'xnat/dcm2niix:latest',
  /** busybox and Python, with stand-ins for real tools (batch-launch.py, make-rt-struct-assessor.py, bet). */
  xnatTools: 'xcs-test/xnat-tools:latest',
} as const;

/** The marker line the `entrypoint` image prints when its entrypoint runs. */
export const ENTRYPOINT_MARKER = 'xcs-entrypoint-ran';

let ready: Promise<void> | undefined;

/** Resolves once the engine answers and the images are built; the work is done once per process. */
export function ensureDockerHarness(): Promise<void> {
  ready ??= promisify(execFile)('bash', ['scripts/docker-harness.sh'], { cwd: repoRoot, maxBuffer: 10 * 1024 * 1024 }).then(
    () => undefined,
    (e: Error & { stderr?: string }) => {
      throw new Error(`scripts/docker-harness.sh failed: ${e.stderr ?? e.message}`);
    },
  );
  return ready;
}

/** The local engine's socket, read when the tests start (a test may point `DOCKER_HOST` elsewhere meanwhile). */
const LOCAL_ENGINE = (process.env.DOCKER_HOST || 'unix:///var/run/docker.sock').replace(/^unix:\/\//, '');

/** A unix socket at `path` that relays every connection to the local engine: an engine that "starts" on cue. */
export function relayEngine(path: string): Promise<Server> {
  const server = createServer((client) => {
    const engine = createConnection(LOCAL_ENGINE);
    client.pipe(engine).pipe(client);
    engine.on('error', () => client.destroy());
    client.on('error', () => engine.destroy());
  });
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}
