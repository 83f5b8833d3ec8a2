/**
 * Writes a synthetic DICOM set for demos and manual tests:
 *   node --import tsx scripts/generate-dicom.ts OUTDIR [--patients 2] [--studies 1] [--series 3]
 *        [--slices 5] [--size 16] [--modality MR] [--seed TEXT] [--json]
 */
import { parseArgs } from 'node:util';
import { generateDicomSet, type GeneratedModality } from '../src/archive/dicom/generate.ts';
import { messageOf } from '../src/core/errors.ts';

const MODALITIES: readonly GeneratedModality[] = ['MR', 'CT', 'PT', 'OT'];

function integer(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new Error(`--${name} must be a positive integer, got "${text}"`);
  return Number(text);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      patients: { type: 'string' },
      studies: { type: 'string' },
      series: { type: 'string' },
      slices: { type: 'string' },
      size: { type: 'string' },
      modality: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new Error('usage: generate-dicom.ts OUTDIR [--patients N] [--studies N] [--series N] [--slices N] [--size N] [--modality MR|CT|PT|OT] [--seed TEXT] [--json]');
  const modality = values.modality?.toUpperCase();
  if (modality !== undefined && !MODALITIES.includes(modality as GeneratedModality)) {
    throw new Error(`--modality must be one of ${MODALITIES.join(', ')}, got "${values.modality}"`);
  }
  const size = integer('size', values.size);
  const manifest = await generateDicomSet(positionals[0], {
    patients: integer('patients', values.patients),
    studiesPerPatient: integer('studies', values.studies),
    seriesPerStudy: integer('series', values.series),
    slices: integer('slices', values.slices),
    rows: size,
    columns: size,
    modality: modality as GeneratedModality | undefined,
    seed: values.seed,
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
    return;
  }
  const series = manifest.patients.flatMap((p) => p.studies.flatMap((s) => s.series)).length;
  process.stdout.write(`wrote ${manifest.files.length} DICOM files (${manifest.bytes} bytes): ${manifest.patients.length} patients, ${series} series, in ${manifest.dir}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`generate-dicom: ${messageOf(e)}\n`);
  process.exitCode = 1;
});
