/**
 * Validating the whole command corpus 100 times in-process (parse text + normalise + validate), in command
 * files per second; target >= 5,000 files/s on one core. Baseline: JSON.parse of the same texts, for scale.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandText } from '../src/command/index.ts';
import { median, timeRuns, type Bench } from './lib.ts';

const corpusDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'corpus', 'commands');
const TARGET = 5000;
const PASSES = 100;
const ROUNDS = 5;

const bench: Bench = {
  name: 'validate-corpus',
  async run() {
    const texts = readdirSync(corpusDir).filter((f) => f.endsWith('.json')).sort().map((f) => readFileSync(join(corpusDir, f), 'utf8'));
    const files = texts.length * PASSES;
    let sink = 0;
    const ours = await timeRuns(ROUNDS + 1, () => {
      for (let p = 0; p < PASSES; p++) for (const t of texts) sink += parseCommandText(t).commands.length;
    });
    const base = await timeRuns(ROUNDS + 1, () => {
      for (let p = 0; p < PASSES; p++) {
        for (const t of texts) {
          try { sink += JSON.stringify(JSON.parse(t)).length > 0 ? 1 : 0; } catch { sink++; }
        }
      }
    });
    if (sink < 0) console.log(sink);
    // The first round warms up the JIT and is dropped.
    const oursRate = files / (median(ours.slice(1)) / 1000);
    const baseRate = files / (median(base.slice(1)) / 1000);
    return [{
      name: `validate corpus (${texts.length} files) x${PASSES}, median of ${ROUNDS} rounds`,
      unit: 'files/s',
      baseline: baseRate,
      baselineLabel: 'JSON.parse + stringify',
      ours: oursRate,
      better: 'higher',
      target: `>= ${TARGET} files/s`,
      met: oursRate >= TARGET,
    }];
  },
};

export default bench;
