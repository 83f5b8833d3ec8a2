import type { Command } from 'commander';
import { withConnection } from './containers.ts';

interface Options {
  json?: boolean;
  verify?: boolean;
  url?: string;
  user?: string;
  password?: string;
}

type Json = Record<string, unknown>;

const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const str = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));

function files(o: Json, lines: string[]): void {
  if (o['file-count'] === undefined) return;
  for (const f of arr(o.files)) lines.push(`      md5 ${str(f.md5)}  ${String(f.size).padStart(10)}  ${str(f.path)}`);
  const listed = Number(o['files-listed'] ?? 0);
  const count = Number(o['file-count'] ?? 0);
  if (listed < count) lines.push(`      … ${count - listed} more files (in the manifest digest)`);
}

function describeObject(o: Json): string {
  if (o['file-count'] === undefined) return `${str(o.kind)}`;
  const parts = [str(o.kind), ...(o.mounted === true ? ['mounted'] : []), `${str(o['file-count'])} files, ${str(o['total-bytes'])} bytes`,
    `manifest ${str(o['manifest-sha256'])}${o['manifest-complete'] === false ? ' (partial)' : ''}`];
  if (o['document-sha256']) parts.push(`document ${str(o['document-sha256'])}`);
  return parts.join('; ');
}

/** The readable summary: what ran (image id, command line), on what (inputs with checksums), making what. */
export function formatProvenance(p: Json): string {
  const lines: string[] = [];
  const cmd = obj(p.command);
  const image = obj(p.image);
  const engine = obj(p.engine);
  lines.push(`Run ${str(p['run-id'])}: ${str(p.status)}${p['exit-code'] !== null && p['exit-code'] !== undefined ? `, exit ${str(p['exit-code'])}` : ''}`
    + ` — project ${str(p.project) || '(none)'}, user ${str(p['user-id'])}${p.scrubbed === true ? ' (scrubbed: you see what a project reader may)' : ''}`);
  lines.push(`Command    ${str(cmd.name)} ${str(cmd.version)} (id ${str(cmd.id)}${cmd.sha256 ? `, ${str(cmd.sha256)}` : ''}), wrapper ${str(obj(p.wrapper).name)} (id ${str(obj(p.wrapper).id)})`);
  lines.push(`Image      ${str(image.reference)}`);
  lines.push(`           id ${str(image.id) || 'unknown (the run never got a container)'}`);
  const digests = arr(image['repo-digests']).map(str);
  lines.push(`           repo digests: ${digests.length ? digests.join(', ') : '(none: a locally built image; the id is its identity)'}`);
  lines.push(`Engine     ${str(engine.name)} ${str(engine.version)}${engine['api-version'] ? ` (API ${str(engine['api-version'])}, ${str(engine.os)}/${str(engine.arch)})` : ''}; XCS ${str(p['xcs-version'])}`);
  if (p.container) lines.push(`Container  ${str(obj(p.container).name)} (${str(obj(p.container).id).slice(0, 12)})`);
  lines.push('Command line', `  ${str(p['command-line'])}`);
  lines.push('Inputs');
  for (const i of arr(p.inputs)) {
    const o = i.object === undefined ? null : obj(i.object);
    lines.push(`  ${str(i.name)} = ${o ? str(o.uri) : str(i.value)}${o ? ` (${describeObject(o)})` : ''}`);
    if (o) files(o, lines);
  }
  lines.push('Outputs');
  const outputs = arr(p.outputs);
  if (outputs.length === 0) lines.push('  (none recorded)');
  for (const out of outputs) {
    const o = out.object === undefined ? null : obj(out.object);
    lines.push(`  ${str(out.name)} -> ${o ? `${str(o.uri)} (${describeObject(o)})` : `${str(out.uri)} (missing when recorded)`}`);
    if (o) files(o, lines);
  }
  lines.push(`Recorded   ${Object.entries(obj(p.recorded)).map(([k, v]) => `${k} ${str(v)}`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  withConnection(program
    .command('provenance')
    .description('what a run of a running XCS server used and produced: image id, command line, inputs and outputs with checksums; '
      + '--verify recomputes the checksums of its outputs still in the archive and exits 1 on drift')
    .argument('<run>', 'run id, container id or container name')
    .option('--json', 'print the provenance record as JSON')
    .option('--verify', 'download the recorded outputs, recompute their MD5s and report changed, missing or added files'))
    .action(async (run: string, o: Options) => {
      const { XapiClient } = await import('../../http/xapi/client.ts');
      const client = new XapiClient(o);
      const record = await client.provenance(run);
      if (!o.verify) {
        process.stdout.write(o.json ? `${JSON.stringify(record, null, 2)}\n` : formatProvenance(record));
        return;
      }
      const { verifyOutputs } = await import('../provenance-verify.ts');
      const report = await verifyOutputs(client, record);
      const drift = report.drift.filter((d) => d.kind !== 'not-verified');
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ run: record['run-id'], ...report, ok: drift.length === 0 }, null, 2)}\n`);
      } else {
        for (const d of report.drift) {
          process.stdout.write(`${d.kind.toUpperCase().padEnd(14)} ${d.output}: ${d.uri}${d.path ? ` ${d.path}` : ''}${d.detail ? ` — ${d.detail}` : ''}\n`);
        }
        process.stdout.write(drift.length === 0
          ? `OK: ${report.checked} recorded output files of run ${str(record['run-id'])} unchanged\n`
          : `DRIFT: ${drift.length} difference(s) in the outputs of run ${str(record['run-id'])} (${report.checked} files checked)\n`);
      }
      if (drift.length > 0) process.exitCode = 1;
    });
}
