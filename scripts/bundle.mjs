// Bundles the CLI (src/cli/main.ts) into dist/cli/ with esbuild, for bin/xcs. Node's start-up, not the work,
// is most of a short command's time: resolving and compiling ~1,000 separate files (TypeBox alone ships 374)
// cost `xcs exec` over half a second. Bundled, each sub-command's lazy `import()` becomes one chunk, so
// `xcs exec` loads the CLI shell, the command model and the Docker backend, and nothing of the server.
//
// `xcs exec` goes one step further (it is timed against `docker run`): dist/cli/exec.blob is a V8 start-up
// snapshot of the exec path (src/cli/exec-snapshot.ts, bundled as one CommonJS file, the only form Node 20
// builds a snapshot from), which Node starts from with those modules already evaluated. Loading, compiling and
// evaluating ~1 MB of modules was most of what exec cost beyond `node -e 0`. bin/xcs runs `xcs exec` from it
// while it is fresh; a Node that cannot build it leaves no blob and exec runs from main.js like the rest.
//
// Stays outside the bundle (loaded from node_modules at run time):
//  - packages with native addons or that find their own files through __dirname (SQLite, the API docs
//    pages, the static file server, Docker's gRPC/protobuf session code);
//  - the parts of dockerode and docker-modem that load ssh2 and gRPC at import time although only
//    ssh:// hosts and BuildKit sessions use them: they are replaced by stubs that load the real module on
//    first call, so the engine connection costs neither.
// Every output file sits two folders below the checkout (dist/cli/), as the compiled sources did: code that
// finds the checkout from `import.meta.url` (the web console, package.json) still finds it.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { realpathSync, rmSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const requireHere = createRequire(import.meta.url);

const EXTERNAL_PACKAGES = [
  'better-sqlite3', '@fastify/swagger-ui', '@fastify/static', '@fastify/swagger',
  'ssh2', 'cpu-features', '@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs',
  // PostgreSQL: pg loads pg-native (libpq, native) on demand.
  'pg', 'pg-native', 'libpq',
];

/** Modules of dockerode/docker-modem loaded at import time but used only by features XCS does not call on the hot path. */
const DEFERRED = [
  { from: /node_modules\/docker-modem\/lib$/, request: './ssh', module: 'docker-modem/lib/ssh.js' },
  { from: /node_modules\/dockerode\/lib$/, request: './session', module: 'dockerode/lib/session.js' },
  { from: /node_modules\/dockerode\/lib$/, request: './buildkit', module: 'dockerode/lib/buildkit.js' },
];

/** @param {string} requireName the bundle's function that loads a package from node_modules */
const deferOptionalTransports = (requireName) => ({
  name: 'defer-optional-transports',
  setup(b) {
    b.onResolve({ filter: /^\.\/(ssh|session|buildkit)$/ }, (args) => {
      const d = DEFERRED.find((x) => x.request === args.path && x.from.test(args.resolveDir));
      return d ? { path: d.module, namespace: 'deferred' } : undefined;
    });
    // Each is a function module (ssh: `agent(options)`, session: `withSession(...)`) or an object of functions
    // (buildkit): a stand-in of the same shape that requires the real one when first called.
    b.onLoad({ filter: /.*/, namespace: 'deferred' }, (args) => ({
      loader: 'js',
      contents: args.path.endsWith('buildkit.js')
        ? `module.exports = new Proxy({}, { get: (_, k) => ${requireName}(${JSON.stringify(args.path)})[k] });`
        : `module.exports = function () { return ${requireName}(${JSON.stringify(args.path)}).apply(this, arguments); };`,
    }));
  },
});

/**
 * docker-modem formats every request's options with `util.inspect(…, {showHidden: true, depth: null})` for its
 * debug log before asking whether that log is on: the formatting is skipped while it is off (DEBUG unset), which
 * its logger answers in `enabled`. A docker-modem whose code no longer reads so is bundled as it is, with a warning.
 */
const MODEM_DEBUG_CALL = "debug('Sending: %s', util.inspect(options, {";
const modemDebugWhenEnabled = {
  name: 'modem-debug-when-enabled',
  setup(b) {
    b.onLoad({ filter: /node_modules\/docker-modem\/lib\/modem\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes(MODEM_DEBUG_CALL)) {
        return { contents: text, loader: 'js', warnings: [{ text: 'docker-modem: its request debug call changed; it formats every request again' }] };
      }
      return { contents: text.replace(MODEM_DEBUG_CALL, `if (debug.enabled) ${MODEM_DEBUG_CALL}`), loader: 'js' };
    });
  },
};

const CHUNKED = {
  entryPoints: ['src/cli/main.ts'],
  outdir: 'dist/cli',
  splitting: true,
  format: 'esm',
  // CommonJS packages inside an ES module bundle call `require`: give them Node's.
  banner: { js: "import { createRequire as __xcsCreateRequire } from 'node:module'; const require = __xcsCreateRequire(import.meta.url);" },
  chunkNames: 'chunk-[hash]',
  plugins: [deferOptionalTransports('require'), modemDebugWhenEnabled],
};

/** What the CLI bundle and the exec snapshot's script are both built with. */
const SHARED = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  external: [...EXTERNAL_PACKAGES, ...DEFERRED.map((d) => d.module), '*.node'],
  logLevel: 'warning',
  legalComments: 'none',
};

await build({
  ...SHARED,
  ...CHUNKED,
});

// ---- the exec snapshot ----

/**
 * Built-in modules that hold native handles Node 20 cannot put in a snapshot (the HTTP parser, sockets,
 * child processes, terminals). The snapshot's bundle gets each as a stand-in with the module's keys that loads
 * the real module on first use, after the process started from the snapshot.
 */
const LOADED_AFTER_START = ['http', 'https', 'http2', 'net', 'tls', 'dgram', 'dns', 'child_process', 'cluster',
  'worker_threads', 'inspector', 'readline', 'repl', 'tty'];

const networkModulesOnFirstUse = {
  name: 'network-modules-on-first-use',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_0-9/]+$/ }, (args) => {
      const name = args.path.replace(/^node:/, '');
      return LOADED_AFTER_START.includes(name) && builtinModules.includes(name) ? { path: name, namespace: 'on-first-use' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'on-first-use' }, (args) => ({
      loader: 'js',
      // The keys are listed now: esbuild's ES-module interop copies them (as getters) when a module imports one.
      contents: `module.exports = __xcsOnFirstUse(${JSON.stringify(args.path)}, ${JSON.stringify(Object.keys(requireHere(args.path)))});`,
    }));
  },
};

/**
 * docker-modem's `debug` logger reads DEBUG and probes the terminal (tty.isatty) when it is created, at import:
 * in a snapshot that would be the builder's environment and terminal. Its stand-in does nothing while DEBUG
 * is unset and otherwise loads the real package from node_modules then, which reads the environment of the run.
 */
const debugOnDemand = {
  name: 'debug-on-demand',
  setup(b) {
    b.onResolve({ filter: /^debug$/ }, () => ({ path: 'debug', namespace: 'debug-on-demand' }));
    b.onLoad({ filter: /.*/, namespace: 'debug-on-demand' }, () => ({
      loader: 'js',
      contents: `module.exports = function createDebug(namespace) {
        let real;
        const instance = () => (real ??= __xcsRequire('debug')(namespace));
        const log = function (...args) { if (process.env.DEBUG) instance().apply(this, args); };
        Object.defineProperty(log, 'enabled', { get: () => Boolean(process.env.DEBUG) && instance().enabled });
        return log;
      };`,
    }));
  },
};

// `require` of a snapshot being built loads built-in modules only: packages (the deferred transports) are
// loaded through one made for this file once the process runs. A stand-in module answers every read from
// the real one; a write through an object that inherits from it (docker-modem's http wrapper) stays on that
// object, as it would with the real module as prototype.
const SNAPSHOT_BANNER = `"use strict";
let __xcsPackageRequire;
const __xcsRequire = (id) => (__xcsPackageRequire ??= require('node:module').createRequire(__filename))(id);
function __xcsOnFirstUse(name, keys) {
  let real;
  const load = () => (real ??= require('node:' + name));
  const own = new Set(keys);
  const standIn = new Proxy({}, {
    get: (_, k) => load()[k],
    set: (_, k, v, receiver) => {
      if (receiver === standIn) load()[k] = v;
      else Object.defineProperty(receiver, k, { value: v, writable: true, enumerable: true, configurable: true });
      return true;
    },
    has: (_, k) => k in load(),
    ownKeys: () => [...own],
    getOwnPropertyDescriptor: (_, k) => (own.has(k) ? { configurable: true, enumerable: true, get: () => load()[k] } : undefined),
  });
  return standIn;
}
const __xcsImportMetaUrl = require('node:url').pathToFileURL(__filename).href;`;

const SNAPSHOT_SCRIPT = 'dist/cli/exec-snapshot.cjs';
const BLOB = 'dist/cli/exec.blob';

await build({
  ...SHARED,
  entryPoints: ['src/cli/exec-snapshot.ts'],
  outfile: SNAPSHOT_SCRIPT,
  format: 'cjs',
  define: { 'import.meta.url': '__xcsImportMetaUrl' },
  banner: { js: SNAPSHOT_BANNER },
  // Names stay (stack traces, class names in messages); white space goes: the source is part of the snapshot.
  minifyWhitespace: true,
  minifySyntax: true,
  plugins: [deferOptionalTransports('__xcsRequire'), networkModulesOnFirstUse, debugOnDemand, modemDebugWhenEnabled],
});

function buildSnapshot() {
  const partial = `${BLOB}.partial`;
  rmSync(join(root, partial), { force: true });
  // Without NODE_OPTIONS: V8 flags in it would be part of the blob, which bin/xcs uses only without them.
  const r = spawnSync(process.execPath, ['--snapshot-blob', partial, '--build-snapshot', SNAPSHOT_SCRIPT],
    { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  // Node warns when a built-in module it has not verified in snapshots was loaded while building: such a
  // snapshot may misbehave later, so it is not used.
  const unverified = /not yet fully verified whether built-in module "([^"]+)"/.exec(r.stderr ?? '');
  if (r.status !== 0 || unverified !== null) {
    rmSync(join(root, partial), { force: true });
    const why = unverified !== null ? `built-in module ${unverified[1]} was loaded while building` : (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(0, 5).join('\n');
    process.stderr.write(`build: no start-up snapshot for xcs exec (it runs from main.js): ${why}\n`);
    return;
  }
  // Renamed when complete (Node crashes on a truncated blob). bin/xcs checks that it was built for this folder
  // and by the node it would start (a blob from another node does not start).
  renameSync(join(root, partial), join(root, BLOB));
  writeFileSync(join(root, `${BLOB}.root`), `${realpathSync(root)}\n${process.execPath}\n`);
}

buildSnapshot();
