/**
 * The layering check (`.dependency-cruiser.cjs`, run by `scripts/test.sh`) passes on the project as it is, and
 * fails on each kind of wrong-way import: a fixture tree with one offending import per rule must be refused
 * with that rule's name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const depcruise = join(root, 'node_modules', '.bin', 'depcruise');
const config = join(root, '.dependency-cruiser.cjs');

function cruise(cwd: string, extra: string[] = []): { status: number | null; out: string } {
  const r = spawnSync(depcruise, ['src', '--config', config, '--output-type', 'err', ...extra], { cwd, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('the project passes its layering rules (known violations aside)', () => {
  const r = cruise(root, ['--ignore-known', join(root, '.dependency-cruiser-known-violations.json')]);
  assert.equal(r.status, 0, r.out);
});

test('each wrong-way import is refused with the rule it breaks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xcs-layering-'));
  try {
    const files: Record<string, string> = {
      'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'nodenext', allowImportingTsExtensions: true, noEmit: true } }),
      'src/http/route.ts': "import { start } from '../backends/docker/backend.ts';\nexport const r = start;\n",
      'src/backends/types.ts': 'export interface Backend { kind: string }\n',
      'src/backends/docker/backend.ts': "export const start = 1;\n",
      'src/runtime/engine.ts': "import { r } from '../http/route.ts';\nexport const e = r;\n",
      'src/archive/store.ts': "import { e } from '../runtime/engine.ts';\nexport const s = e;\n",
      'src/core/errors.ts': "import { s } from '../archive/store.ts';\nexport const x = s;\n",
      'src/runtime/index.ts': "export const api = 1;\n",
      'src/http/runs.ts': "import { e } from '../runtime/engine.ts';\nimport { api } from '../runtime/index.ts';\nexport const h = [e, api];\n",
      'src/stores/table.ts': "import { e } from '../runtime/engine.ts';\nexport const t = e;\n",
      'src/notifications/notifier.ts': "import { e } from '../runtime/engine.ts';\nexport const n = e;\n",
      'src/app/index.ts': "export const open = 1;\n",
      'src/runtime/opener.ts': "import { open } from '../app/index.ts';\nexport const o = open;\n",
    };
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const r = cruise(dir);
    assert.notEqual(r.status, 0, r.out);
    for (const rule of ['http-never-imports-a-concrete-backend', 'runtime-and-automation-never-import-http',
      'lower-layers-never-import-upward', 'core-uses-nobody', 'stores-stay-below-the-services',
      'http-enters-the-runtime-through-its-index', 'outside-code-enters-the-runtime-through-its-index',
      'only-the-cli-uses-the-composition-root']) {
      assert.match(r.out, new RegExp(rule), `expected a ${rule} violation:\n${r.out}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
