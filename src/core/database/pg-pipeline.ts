/**
 * libpq's pipeline mode, used synchronously: several statements sent at once and their results read in order, in one
 * round trip. `pg-sync.ts` sends a transaction's statements that need no answer (its BEGIN and savepoints, and writes
 * whose result nobody reads) together with the next statement that does. Blocking reads: the connection is in
 * libpq's blocking mode, so reading a result waits for it, as the synchronous queries do.
 */

/** The part of node-libpq's handle used here. */
export interface PipelineLibpq {
  enterPipelineMode(): boolean;
  exitPipelineMode(): boolean;
  pipelineSync(): boolean;
  sendQueryParams(text: string, values: Array<string | null>): boolean;
  sendPrepare(name: string, text: string, count: number): boolean;
  sendQueryPrepared(name: string, values: Array<string | null>): boolean;
  getResult(): boolean;
  resultStatus(): string;
  resultErrorMessage(): string;
  resultErrorFields(): { sqlState?: string } | undefined;
  errorMessage(): string;
  cmdTuples(): string;
  ntuples(): number;
  nfields(): number;
  fname(column: number): string;
  ftype(column: number): number;
  getvalue(row: number, column: number): string;
  getisnull(row: number, column: number): boolean;
}

export interface PipelineItem {
  text: string;
  values: Array<string | null>;
  /** Run as this prepared statement (already prepared on the connection). */
  name?: string;
  /** Prepare under this name first, in the same pipeline, then run it. */
  prepareAs?: string;
}

export type PipelineOutcome =
  | { ok: true; rows: Array<Record<string, unknown>>; changes: number; prepared: boolean }
  /** `sqlState` undefined: the connection failed. `skipped`: not run because an earlier item failed. */
  | { ok: false; message: string; sqlState: string | undefined; skipped: boolean; prepared: boolean };

/** The connection broke while a pipeline was sent or read: it cannot be used any more. */
export class PipelineBroken extends Error {}

/** The rows of libpq's current result, with each column's text turned into a value by `parserOf` its type. */
export function readRows(pq: PipelineLibpq, parserOf: (oid: number) => (text: string) => unknown): Array<Record<string, unknown>> {
  const columns = pq.nfields();
  const names: string[] = [];
  const parsers: Array<(text: string) => unknown> = [];
  for (let c = 0; c < columns; c++) {
    names.push(pq.fname(c));
    parsers.push(parserOf(pq.ftype(c)));
  }
  const rows: Array<Record<string, unknown>> = [];
  const count = pq.ntuples();
  for (let r = 0; r < count; r++) {
    const row: Record<string, unknown> = {};
    for (let c = 0; c < columns; c++) {
      const raw = pq.getvalue(r, c);
      row[names[c]] = raw === '' && pq.getisnull(r, c) ? null : parsers[c](raw);
    }
    rows.push(row);
  }
  return rows;
}

/** Reads the next result of the pipeline (each is followed by a null, which is read too); throws when the connection broke. */
function nextStatus(pq: PipelineLibpq): string {
  if (!pq.getResult()) throw new PipelineBroken(pq.errorMessage() || 'no result from the server');
  const status = pq.resultStatus();
  if (status !== 'PGRES_PIPELINE_SYNC' && pq.getResult()) throw new PipelineBroken('more results than statements');
  return status;
}

/**
 * Sends `items` as one pipeline (one synchronisation point at its end) and returns each one's outcome, in order. After
 * a failure the server skips the rest up to the end of the pipeline. Throws `PipelineBroken` when the connection broke.
 */
export function runPipeline(pq: PipelineLibpq, items: readonly PipelineItem[],
  parserOf: (oid: number) => (text: string) => unknown): PipelineOutcome[] {
  if (!pq.enterPipelineMode()) throw new PipelineBroken(pq.errorMessage() || 'cannot enter pipeline mode');
  for (const item of items) {
    const sent = item.prepareAs !== undefined
      ? pq.sendPrepare(item.prepareAs, item.text, item.values.length) && pq.sendQueryPrepared(item.prepareAs, item.values)
      : item.name !== undefined ? pq.sendQueryPrepared(item.name, item.values) : pq.sendQueryParams(item.text, item.values);
    if (!sent) throw new PipelineBroken(pq.errorMessage() || 'cannot send');
  }
  if (!pq.pipelineSync()) throw new PipelineBroken(pq.errorMessage() || 'cannot send');
  const outcomes: PipelineOutcome[] = [];
  for (const item of items) {
    let prepared = false;
    let prepareFailure: PipelineOutcome | undefined;
    if (item.prepareAs !== undefined) {
      const status = nextStatus(pq);
      prepared = status === 'PGRES_COMMAND_OK';
      // Its statement is then skipped: the failure to report is the prepare's.
      if (!prepared) prepareFailure = outcomeOf(pq, status, false, parserOf);
    }
    const status = nextStatus(pq);
    outcomes.push(prepareFailure ?? outcomeOf(pq, status, prepared, parserOf));
  }
  if (nextStatus(pq) !== 'PGRES_PIPELINE_SYNC' || !pq.exitPipelineMode()) throw new PipelineBroken('the pipeline did not end as sent');
  return outcomes;
}

function outcomeOf(pq: PipelineLibpq, status: string, prepared: boolean,
  parserOf: (oid: number) => (text: string) => unknown): PipelineOutcome {
  switch (status) {
    case 'PGRES_TUPLES_OK':
    case 'PGRES_COMMAND_OK': {
      const tuples = pq.cmdTuples();
      return { ok: true, rows: readRows(pq, parserOf), changes: tuples === '' ? 0 : Number(tuples), prepared };
    }
    case 'PGRES_PIPELINE_ABORTED':
      return { ok: false, message: 'not run: an earlier statement of the pipeline failed', sqlState: '25P02', skipped: true, prepared };
    default:
      return { ok: false, message: pq.resultErrorMessage() || pq.errorMessage(), sqlState: pq.resultErrorFields()?.sqlState, skipped: false, prepared };
  }
}
