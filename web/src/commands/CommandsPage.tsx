/** Commands: what is registered (and enabled for the site), and an editor to check — and, for managers, register — a new one. */
import { getJson, messageOf } from '../api/client.ts';
import type { Command } from '../api/types.ts';
import type { Me } from '../auth/session.ts';
import { ErrorBox, Loading } from '../components/States.tsx';
import { usePolling } from '../components/usePolling.ts';
import { CommandEditor } from './CommandEditor.tsx';
import { CommandList } from './CommandList.tsx';

interface Listing {
  commands: Command[];
  siteEnabled: Set<number>;
}

export function CommandsPage({ me }: { me: Me }) {
  const list = usePolling<Listing>(async (signal) => {
    const [all, enabled] = await Promise.all([
      getJson<Command[]>('/xapi/commands', signal),
      getJson<Command[]>('/xapi/commands?restrictToEnabledForSite=true', signal),
    ]);
    return { commands: all.data, siteEnabled: new Set(enabled.data.flatMap((c) => c.xnat.map((w) => w.id))) };
  }, [], 0, false);

  return (
    <section aria-labelledby="commands-title">
      <h1 id="commands-title">Commands</h1>
      {list.error ? <ErrorBox title="Could not load the commands" message={messageOf(list.error)} /> : null}
      {list.loading && !list.data ? <Loading what="commands" /> : null}
      {list.data ? <CommandList commands={list.data.commands} siteEnabled={list.data.siteEnabled} /> : null}
      <CommandEditor canRegister={me.containerManager} onRegistered={list.reload} />
    </section>
  );
}
