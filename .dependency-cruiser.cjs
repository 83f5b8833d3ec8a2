/**
 * The layering rules of ARCHITECTURE.md, checked by dependency-cruiser in `scripts/test.sh` (and CI).
 * Dependencies point downwards: cli/http → runtime/automation → resolution, archive, backends → command,
 * matcher → core. Imports that break a rule and existed when the rule was introduced are listed in
 * `.dependency-cruiser-known-violations.json` (to be removed, never added to); anything new fails the check.
 * Test files are exempt: a test may reach into any layer it tests.
 */
const notTest = '\\.test\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-uses-nobody',
      comment: 'src/core is used by every layer and imports none of them.',
      severity: 'error',
      from: { path: '^src/core/', pathNot: notTest },
      to: { path: '^src/(?!core/)' },
    },
    {
      name: 'model-layers-stay-low',
      comment: 'command and matcher know nothing of resolution, the archive, backends, the run engine or http.',
      severity: 'error',
      from: { path: '^src/(command|matcher)/', pathNot: notTest },
      to: { path: '^src/(resolution|archive|backends|stores|runtime|automation|http|cli|app)/' },
    },
    {
      name: 'lower-layers-never-import-upward',
      comment: 'resolution, archive and backends never import the run engine, automation, http or the CLI.',
      severity: 'error',
      from: { path: '^src/(resolution|archive|backends)/', pathNot: notTest },
      to: { path: '^src/(stores|runtime|automation|http|cli|app)/' },
    },
    {
      name: 'stores-stay-below-the-services',
      comment: 'src/stores keeps tables (settings, configuration, site roles); it knows nothing of who uses them.',
      severity: 'error',
      from: { path: '^src/stores/', pathNot: notTest },
      to: { path: '^src/(runtime|automation|http|cli|app)/' },
    },
    {
      name: 'http-enters-the-runtime-through-its-index',
      comment: 'runtime/index.ts is the application API http may use; the engine\'s modules stay its own.',
      severity: 'error',
      from: { path: '^src/http/', pathNot: notTest },
      to: { path: '^src/runtime/', pathNot: '^src/runtime/index\\.ts$' },
    },
    {
      name: 'outside-code-enters-the-runtime-through-its-index',
      comment: 'Automation, notifications and the composition root use the runtime through runtime/index.ts as http does; ' +
        'xcs exec shares finalization\'s output rules (finalize/collect.ts) without loading the engine.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/(runtime|http)/', notTest] },
      to: { path: '^src/runtime/', pathNot: ['^src/runtime/index\\.ts$', '^src/runtime/finalize/collect\\.ts$'] },
    },
    {
      name: 'only-the-cli-uses-the-composition-root',
      comment: 'src/app opens everything and builds the server; nothing it wires may reach back into it.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/(app|cli)/', notTest] },
      to: { path: '^src/app/' },
    },
    {
      name: 'runtime-and-automation-never-import-http',
      comment: 'The run engine, automation and notifications are used by http, never the other way round.',
      severity: 'error',
      from: { path: '^src/(runtime|automation|notifications)/', pathNot: notTest },
      to: { path: '^src/(http|cli)/' },
    },
    {
      name: 'http-never-imports-a-concrete-backend',
      comment: 'http sees backends only through the contract (src/backends/*.ts), never a backend folder.',
      severity: 'error',
      from: { path: '^src/http/', pathNot: notTest },
      to: { path: '^src/backends/[^/]+/' },
    },
    {
      name: 'dockerode-only-in-docker-backends',
      comment: 'The Docker API client is an implementation detail of the Docker (and Swarm) backends.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/backends/(docker|swarm)/', notTest] },
      to: { path: 'node_modules/(@types/)?dockerode/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
