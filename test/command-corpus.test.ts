/**
 * Every file of the real-world corpus parses without a crash, and its verdict (valid, or which errors at
 * which paths) equals the reviewed snapshot. `UPDATE_SNAPSHOTS=1` rewrites the snapshot (review the diff!).
 * Also: the committed JSON Schema is the generated one, and accepts every command the validator accepts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import { commandJsonSchema, parseCommandText } from '../src/command/index.ts';
import { parseLenientJson } from '../src/command/lenient-json.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const corpusDir = join(root, 'test', 'corpus', 'commands');
const snapshotFile = join(root, 'test', 'snapshots', 'corpus-verdicts.json');
const files = readdirSync(corpusDir).filter((f) => f.endsWith('.json')).sort();

interface Verdict { valid: boolean; errors: string[] }

function verdictOf(text: string): Verdict {
  const r = parseCommandText(text);
  const errors = [...r.errors, ...r.commands.flatMap((c) => c.errors)].map((e) => `${e.code} ${e.path}`);
  return { valid: errors.length === 0 && r.commands.length > 0, errors };
}

test('every corpus file gets the reviewed verdict', () => {
  assert.ok(files.length >= 130, `expected the corpus, found ${files.length} files`);
  const actual: Record<string, Verdict> = {};
  for (const f of files) actual[f] = verdictOf(readFileSync(join(corpusDir, f), 'utf8'));
  if (process.env.UPDATE_SNAPSHOTS === '1') {
    writeFileSync(snapshotFile, `${JSON.stringify(actual, null, 2)}\n`);
  }
  const expected = JSON.parse(readFileSync(snapshotFile, 'utf8')) as Record<string, Verdict>;
  assert.deepEqual(actual, expected);
});

test('the committed schema/command.schema.json is the generated one', () => {
  const committed: unknown = JSON.parse(readFileSync(join(root, 'schema', 'command.schema.json'), 'utf8'));
  assert.deepEqual(committed, commandJsonSchema());
});

test('the JSON Schema accepts every corpus command the validator accepts, and rejects pre-1.0 ones', () => {
  const ajv = new Ajv2020.default({ allErrors: true, strict: false });
  const check = ajv.compile(commandJsonSchema());
  let accepted = 0;
  for (const f of files) {
    const text = readFileSync(join(corpusDir, f), 'utf8');
    const parsed = parseLenientJson(text);
    assert.ok(parsed.ok, f);
    const r = parseCommandText(text);
    if (r.format === 'pre-1.0') {
      assert.equal(check(parsed.value), false, `${f}: the schema should reject the pre-1.0 format`);
      continue;
    }
    const items = Array.isArray(parsed.value) ? parsed.value : [parsed.value];
    r.commands.forEach((c, i) => {
      if (!c.valid) return;
      const withImage = { image: 'filled/in:label', ...(items[i] as object) };
      assert.ok(check(withImage), `${f}${c.pointerPrefix}: ${ajv.errorsText(check.errors)}`);
      accepted++;
    });
  }
  assert.ok(accepted >= 120, `only ${accepted} commands checked`);
});
