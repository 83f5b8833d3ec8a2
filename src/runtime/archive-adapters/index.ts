/**
 * The adapters between the archive and the run engine, in one place: the run token and output upload
 * (`credentials-and-outputs.ts`), the inventory provenance records (`inventory.ts`) and the archive as resolution's
 * object source (`object-source.ts`). Finalization's own sink over the archive is `finalize/archive-sink.ts`.
 */
export { aliasTokenCredentials, archiveOutputs } from './credentials-and-outputs.ts';
export { archiveInventory } from './inventory.ts';
export { ArchiveObjectSource } from './object-source.ts';
