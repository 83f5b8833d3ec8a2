import type { Command } from 'commander';
import { announceGeneratedAdmin } from '../generated-admin.ts';
import type { ImportPhase, ImportProgress, ImportReport } from '../../archive/dicom/import.ts';
import { XcsError } from '../../core/errors.ts';

interface Options {
  data?: string;
  user?: string;
  json?: boolean;
}

const PHASE_TEXT: Record<ImportPhase, string> = { unpack: 'unpacking', read: 'reading', store: 'storing' };

/** A progress bar on a terminal, a line per phase otherwise (logs stay readable). */
async function progressReporter(): Promise<{ update: (p: ImportProgress) => void; stop: () => void }> {
  if (!process.stderr.isTTY) {
    let phase: ImportPhase | undefined;
    return {
      update: (p) => {
        if (p.phase !== phase && (p.total > 0 || p.phase === 'unpack')) {
          phase = p.phase;
          process.stderr.write(`${PHASE_TEXT[p.phase]}${p.total > 0 ? ` ${p.total} files` : ''}…\n`);
        }
      },
      stop: () => undefined,
    };
  }
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar({
    format: '{phase} [{bar}] {value}/{total} files', stream: process.stderr, hideCursor: true, clearOnComplete: false,
  }, cliProgress.Presets.shades_classic);
  let phase: ImportPhase | undefined;
  return {
    update: (p) => {
      if (p.phase !== phase) {
        if (phase !== undefined) bar.stop();
        phase = p.phase;
        bar.start(p.total, p.done, { phase: PHASE_TEXT[p.phase].padEnd(9) });
      } else {
        bar.setTotal(p.total);
        bar.update(p.done);
      }
    },
    stop: () => bar.stop(),
  };
}

function printReport(r: ImportReport): void {
  const out: string[] = [];
  for (const s of r.imported) {
    out.push(`${s.created ? 'created' : 'updated'} ${s.subjectLabel}/${s.label} (${s.id}, ${s.xsiType}): ` +
      s.scans.map((x) => `${x.id}${x.type ? ` ${x.type}` : ''} [${x.files}]`).join(', '));
  }
  for (const k of r.skipped) out.push(`skipped ${k.name}: ${k.reason}`);
  out.push(`imported ${r.files} files into project ${r.project}: ${r.subjects} subjects, ${r.sessions} sessions, ${r.scans} scans ` +
    `(new: ${r.created.subjects} subjects, ${r.created.sessions} sessions, ${r.created.scans} scans); ${r.skipped.length} files skipped`);
  process.stdout.write(`${out.join('\n')}\n`);
}

export function register(program: Command): void {
  program
    .command('import-dicom')
    .description('import a directory, zip, tar or tar.gz of DICOM files into a project of the embedded archive')
    .argument('<project>', 'project ID (created when missing)')
    .argument('<path>', 'directory, .zip, .tar or .tar.gz of DICOM files')
    .option('--data <dir>', 'data directory (default: $XCS_HOME or ./xcs-data)')
    .option('--user <login>', 'the XCS user the import is recorded under (default: the first site administrator)')
    .option('--json', 'print the import report as JSON')
    .action(async (project: string, path: string, o: Options) => {
      const { defaultDataDir, openEmbeddedArchive } = await import('../../archive/open.ts');
      const { importDicom } = await import('../../archive/dicom/import.ts');
      const { unpackLimitsFromEnv } = await import('../../archive/unpack-limits.ts');
      const unpack = unpackLimitsFromEnv();
      const opened = await openEmbeddedArchive(o.data ?? defaultDataDir(), { unpackLimits: unpack });
      try {
        announceGeneratedAdmin(opened, process.stderr);
        const user = o.user ?? (await opened.users.listUsers()).find((u) => u.siteAdmin)?.login;
        if (user === undefined || (await opened.users.getUser(user)) === undefined) {
          throw new XcsError('cli.import-dicom.no-user', `no XCS user "${user ?? ''}" in ${opened.dataDir}`, {
            path: '--user', hint: 'add one with: xcs admin user add',
          });
        }
        if ((await opened.archive.get({ kind: 'project', project })) === undefined) {
          await opened.archive.createProject({ id: project }, user);
          process.stderr.write(`created project ${project}\n`);
        }
        const progress = o.json ? undefined : await progressReporter();
        let report: ImportReport;
        try {
          report = await importDicom(opened.archive, { project, source: path, user, onProgress: progress?.update, limits: { unpack } });
        } finally {
          progress?.stop();
        }
        if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else printReport(report);
      } finally {
        await opened.close();
      }
    });
}
