/** Reads a zip answered by the server into its entries' text, by entry name (for tests of zip downloads). */
import yauzl from 'yauzl';

export async function zipEntries(zip: Buffer): Promise<Map<string, string>> {
  const z = await new Promise<yauzl.ZipFile>((ok, ko) => yauzl.fromBuffer(zip, { lazyEntries: true }, (e, f) => (e ? ko(e) : ok(f))));
  const out = new Map<string, string>();
  await new Promise<void>((ok, ko) => {
    z.on('entry', (entry: yauzl.Entry) => {
      z.openReadStream(entry, (e, s) => {
        if (e) return ko(e);
        const chunks: Buffer[] = [];
        s.on('data', (c: Buffer) => chunks.push(c));
        s.on('end', () => { out.set(entry.fileName, Buffer.concat(chunks).toString()); z.readEntry(); });
      });
    });
    z.on('end', () => ok());
    z.on('error', ko);
    z.readEntry();
  });
  return out;
}
