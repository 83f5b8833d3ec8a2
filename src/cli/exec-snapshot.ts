/**
 * The entry of the V8 start-up snapshot bin/xcs runs `xcs exec` from (scripts/bundle.mjs builds it with
 * `node --build-snapshot`). Start-up is most of a short exec's time: from the snapshot, Node starts with the
 * exec path's modules already loaded, compiled and evaluated instead of reading, compiling and evaluating them,
 * and the functions every run calls compiled too (exec-rehearsal.ts).
 *
 * The modules below are evaluated when the snapshot is built, so none of them may keep process state from
 * that moment (environment, working directory, open handles) — they read it when called. Node 20 cannot hold
 * its HTTP parser in a snapshot: the bundle gives the network modules as stand-ins that load the real
 * module on first use (scripts/bundle.mjs).
 */
import v8 from 'node:v8';
import * as exec from './commands/exec.ts';
import { runAsProcess } from './program.ts';
// Imported lazily by `exec`'s action; imported here so that the snapshot holds them evaluated.
import '../authoring/exec-command.ts';
import '../backends/docker/docker-backend.ts';
import { rehearseExec } from './exec-rehearsal.ts';

// Node takes the snapshot once this has settled (a rejection fails the build): the snapshot then also holds
// the exec path compiled.
void rehearseExec();

v8.startupSnapshot.setDeserializeMainFunction(() => {
  // A process started from a snapshot has no script in its argv: [node, ...arguments].
  runAsProcess(process.argv.slice(1), [exec]);
});
