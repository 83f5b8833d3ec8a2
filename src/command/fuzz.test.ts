/**
 * Property test: parsing never throws, whatever it is given, and every rejection says where and what.
 * Inputs: corpus commands mutated (keys deleted, replaced, duplicated into siblings, values retyped, text
 * truncated) and arbitrary JSON values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parseCommandText, parseCommandValue, resolvePointer, type ParseResult } from './index.ts';
import { parseLenientJson } from './lenient-json.ts';

const corpusDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'corpus', 'commands');
const texts = readdirSync(corpusDir).filter((f) => f.endsWith('.json')).sort().map((f) => readFileSync(join(corpusDir, f), 'utf8'));
const values = texts.map((t) => parseLenientJson(t)).filter((r) => r.ok).map((r) => (r as { value: unknown }).value);

type Path = (string | number)[];

function allPaths(v: unknown, here: Path = [], out: Path[] = []): Path[] {
  out.push(here);
  if (Array.isArray(v)) v.forEach((x, i) => allPaths(x, [...here, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) allPaths(x, [...here, k], out);
  return out;
}

function mutate(root: unknown, path: Path, op: number, replacement: unknown): unknown {
  const copy: unknown = structuredClone(root);
  if (path.length === 0) return op === 0 ? replacement : copy;
  let parent: unknown = copy;
  for (const t of path.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[t];
  const last = path[path.length - 1];
  const p = parent as Record<string | number, unknown>;
  if (op === 0) p[last] = replacement;
  else if (op === 1) {
    if (Array.isArray(p)) p.splice(Number(last), 1);
    else delete p[last];
  } else if (op === 2) {
    if (Array.isArray(p)) p.push(structuredClone(p[Number(last)]));
    else p[`${String(last)}-copy`] = p[last];
  } else {
    const v = p[last];
    p[last] = typeof v === 'string' ? (v === '' ? null : [v]) : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return copy;
}

function checkResult(r: ParseResult, input: unknown, fromText: boolean): void {
  const all = [...r.errors, ...r.warnings, ...r.commands.flatMap((c) => [...c.errors, ...c.warnings])];
  for (const d of all) {
    assert.equal(typeof d.path, 'string');
    assert.ok(d.message.length > 0, `empty message for ${d.code}`);
    assert.ok(d.code.length > 0);
    if (!fromText && d.severity === 'error' && d.path !== '') {
      // An error points into the input: at the value, or at a key that should be there.
      const parentPath = d.path.slice(0, d.path.lastIndexOf('/'));
      assert.ok(resolvePointer(input, d.path) !== undefined || resolvePointer(input, parentPath) !== undefined,
        `path ${d.path} (${d.code}) does not resolve into the input`);
    }
  }
  for (const c of r.commands) {
    assert.equal(c.valid, c.errors.length === 0);
    assert.equal(c.command === null, !c.valid);
  }
}

test('mutated corpus commands never make parsing throw; every error has a path into the input', () => {
  const arbJson = fc.jsonValue({ maxDepth: 3 });
  fc.assert(
    fc.property(fc.nat(values.length - 1), fc.nat(), fc.integer({ min: 0, max: 3 }), arbJson, (i, pick, op, replacement) => {
      const root = values[i];
      const paths = allPaths(root);
      const mutated = mutate(root, paths[pick % paths.length], op, replacement);
      checkResult(parseCommandValue(mutated), mutated, false);
    }),
    { numRuns: 6000, seed: 20251 },
  );
});

test('truncated and spliced corpus texts never make parsing throw', () => {
  fc.assert(
    fc.property(fc.nat(texts.length - 1), fc.nat(), fc.string({ maxLength: 4 }), (i, cut, junk) => {
      const t = texts[i];
      const at = cut % (t.length + 1);
      checkResult(parseCommandText(t.slice(0, at) + junk + t.slice(at + junk.length)), null, true);
    }),
    { numRuns: 3000, seed: 20252 },
  );
});

test('arbitrary JSON values and deep or huge inputs never make parsing throw', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => checkResult(parseCommandValue(v), v, false)),
    { numRuns: 2000, seed: 20253 },
  );
  let deep: unknown = 1;
  for (let i = 0; i < 100000; i++) deep = { xnat: [deep] };
  assert.doesNotThrow(() => parseCommandValue(deep));
  assert.doesNotThrow(() => parseCommandText('['.repeat(200000)));
  assert.doesNotThrow(() => parseCommandValue({ name: 'x'.repeat(5_000_000), image: 'a:1', 'command-line': '#'.repeat(100000) }));
  assert.doesNotThrow(() => parseCommandValue(JSON.parse('{"__proto__": {"name": 1}, "constructor": 2}')));
});
