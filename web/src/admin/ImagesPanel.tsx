/**
 * Images on the container engine (`GET /xapi/docker/images`) with the commands their `org.nrg.commands` label
 * carries, and "save to site" (`POST /xapi/docker/images/save?image=`), which registers those commands.
 */
import { useState } from 'react';
import { ApiError, getJson, messageOf, query, sendJson } from '../api/client.ts';
import { Empty, ErrorBox, Loading } from '../components/States.tsx';
import { useLoad } from '../components/useLoad.ts';

interface Image {
  'image-id'?: string;
  tags: string[];
  labels: Record<string, string>;
  installed?: boolean;
}

function labelCommands(image: Image): string[] {
  const raw = image.labels['org.nrg.commands'];
  if (!raw) return [];
  try {
    const parsed = JSON.parse(raw) as unknown;
    return Array.isArray(parsed) ? parsed.map((c) => String((c as { name?: unknown }).name ?? '?')) : [];
  } catch {
    return ['(label is not valid JSON)'];
  }
}

export function ImagesPanel({ onSaved }: { onSaved: () => void }) {
  const images = useLoad((s) => getJson<Image[]>('/xapi/docker/images', s).then((r) => r.data), []);
  const [result, setResult] = useState<{ image: string; text: string; error?: ApiError | Error } | null>(null);
  if (images.error) return <ErrorBox title="Could not list the images" message={messageOf(images.error)} />;
  if (!images.data) return <Loading what="the images" />;
  const save = async (ref: string): Promise<void> => {
    setResult(null);
    try {
      const saved = await sendJson<unknown[]>('POST', `/xapi/docker/images/save${query({ image: ref })}`);
      setResult({ image: ref, text: `Registered ${Array.isArray(saved) ? saved.length : 0} command(s) from ${ref}.` });
      onSaved();
    } catch (e) {
      setResult({ image: ref, text: '', error: e instanceof Error ? e : new Error(String(e)) });
    }
  };
  const shown = images.data.filter((i) => i.installed !== false);
  return (
    <div>
      {shown.length === 0 ? <Empty>No images on the engine.</Empty> : (
        <table className="images">
          <caption className="sr-only">Images on the container engine</caption>
          <thead><tr><th scope="col">Image</th><th scope="col">Commands in its label</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
          <tbody>
            {shown.map((i) => {
              const ref = i.tags[0] ?? i['image-id'] ?? '?';
              const commands = labelCommands(i);
              return (
                <tr key={i['image-id'] ?? ref} data-image={ref}>
                  <td><code>{ref}</code>{i.tags.length > 1 ? <span className="muted"> +{i.tags.length - 1} tags</span> : null}</td>
                  <td>{commands.length ? commands.join(', ') : <span className="muted">none</span>}</td>
                  <td>
                    {commands.length ? <button type="button" onClick={() => void save(ref)}>Save commands to site</button> : null}
                    {result?.image === ref ? (result.error
                      ? <ErrorBox message={result.error.message} hint={result.error instanceof ApiError ? result.error.hint : undefined} />
                      : <span role="status" className="notice">{result.text}</span>) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
