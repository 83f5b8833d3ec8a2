/**
 * The one-machine Slurm cluster of the tests (`scripts/slurm-harness.sh`: munged, slurmctld, slurmd), started once
 * per test process. When the Slurm packages are not installed the Slurm tests are skipped with that reason;
 * when they are installed, a cluster that does not come up is a failure.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Why the Slurm tests cannot run here, or null when they can. */
export function slurmHarnessAbsent(): string | null {
  for (const bin of ['/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/sbin/munged', '/usr/bin/sbatch']) {
    if (!existsSync(bin)) return `Slurm is not installed (${bin} missing): apt-get install slurm-wlm munge, or run scripts/setup.sh`;
  }
  return null;
}

/** The harness's slurmrestd (JWT authentication). */
export const SLURM_REST_URL = 'http://127.0.0.1:6820';

/** Why the slurmrestd tests cannot run here (slurmrestd or Slurm's JWT plugin not installed), or null. */
export function slurmRestAbsent(): string | null {
  if (!existsSync('/usr/sbin/slurmrestd')) return 'slurmrestd is not installed: apt-get install slurmrestd, or run scripts/setup.sh';
  const plugins = ['/usr/lib/x86_64-linux-gnu/slurm-wlm', '/usr/lib/aarch64-linux-gnu/slurm-wlm', '/usr/lib/slurm-wlm'];
  if (!plugins.some((d) => existsSync(`${d}/auth_jwt.so`))) {
    return 'Slurm\'s JWT plugin is not installed: apt-get install slurm-wlm-jwt-plugin, or run scripts/setup.sh';
  }
  return null;
}

let ready: Promise<void> | undefined;

export function ensureSlurmHarness(): Promise<void> {
  ready ??= promisify(execFile)('bash', ['scripts/slurm-harness.sh'], { cwd: repoRoot }).then(
    () => undefined,
    (e: Error & { stderr?: string }) => {
      throw new Error(`scripts/slurm-harness.sh failed: ${e.stderr ?? e.message}`);
    },
  );
  return ready;
}
