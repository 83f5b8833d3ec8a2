/** `xcs serve` as a child process, for tests that kill and restart the server. */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ServeProcess { child: ChildProcess; url: string; output: () => string }

/** Starts `bin/xcs serve` on a free port over `data`, with `env` added, once it says where it listens. */
export async function startServe(data: string, env: Record<string, string>): Promise<ServeProcess> {
  const child = spawn('bin/xcs', ['serve', '--port', '0', '--data', data], {
    env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const t0 = Date.now();
  while (!/listening on (\S+)/.test(out)) {
    if (child.exitCode !== null || Date.now() - t0 > 45_000) {
      // A server that comes up after the test gave up would keep the test file (and the run) from ending.
      child.kill('SIGKILL');
      throw new Error(`serve did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return { child, url: /listening on (\S+)/.exec(out)![1], output: () => out };
}

/** Kills the server the hard way (no shutdown hooks run), as a crash would, and waits for it to be gone. */
export async function sigkill(s: ServeProcess): Promise<void> {
  // Gone already (exited, or killed by a signal: then exitCode stays null).
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGKILL');
  await exited;
}
