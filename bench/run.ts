/**
 * Runs every bench/*.bench.ts (or those whose name contains an argument) and
 * prints, for each measurement, the baseline, ours and their ratio.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Bench, BenchResult } from './lib.ts';

const dir = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

function fmt(n: number | null): string {
  if (n === null || Number.isNaN(n)) return '-';
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2);
}

const all: BenchResult[] = [];
for (const f of files) {
  const mod = (await import(pathToFileURL(join(dir, f)).href)) as { default: Bench };
  process.stderr.write(`bench: ${mod.default.name}...\n`);
  const results = await mod.default.run();
  for (const r of results) {
    all.push(r);
    const ratio = r.baseline ? r.ours / r.baseline : null;
    console.log(
      `${r.met ? 'MET ' : 'MISS'} ${r.name}: baseline ${fmt(r.baseline)}${r.baselineLabel ? ` (${r.baselineLabel})` : ''}` +
        ` | ours ${fmt(r.ours)} ${r.unit} | ratio ${fmt(ratio)} | target ${r.target}`,
    );
  }
}
console.log(`${all.filter((r) => r.met).length} of ${all.length} targets met`);
