// Bundles the CLI (src/cli/main.ts) into dist/cli/ with esbuild, for bin/xcs. Node's start-up, not the work,
// is most of a short command's time: resolving and compiling ~1,000 separate files (TypeBox alone ships 374)
// cost `xcs exec` over half a second. Bundled, each sub-command's lazy `import()` becomes one chunk, so
// `xcs exec` loads the CLI shell, the command model and the Docker backend, and nothing of the server.
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
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

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

const deferOptionalTransports = {
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
        ? `module.exports = new Proxy({}, { get: (_, k) => require(${JSON.stringify(args.path)})[k] });`
        : `module.exports = function () { return require(${JSON.stringify(args.path)}).apply(this, arguments); };`,
    }));
  },
};

await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  outdir: 'dist/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: [...EXTERNAL_PACKAGES, ...DEFERRED.map((d) => d.module), '*.node'],
  // CommonJS packages inside an ES module bundle call `require`: give them Node's.
  banner: { js: "import { createRequire as __xcsCreateRequire } from 'node:module'; const require = __xcsCreateRequire(import.meta.url);" },
  chunkNames: 'chunk-[hash]',
  plugins: [deferOptionalTransports],
  logLevel: 'warning',
  legalComments: 'none',
});
