/**
 * Administration. Site administrators (container managers) see every part: server settings, images, the
 * enablement grid with per-project input configuration, automation, users and roles. Anyone else sees the
 * parts a project owner works with (the grid for their projects, automation they may see, their projects'
 * members); the server decides every change and its refusal is shown where it was asked.
 */
import { useState } from 'react';
import type { Me } from '../auth/session.ts';
import { Tabs } from '../components/Tabs.tsx';
import { setQuery, useLocation } from '../router.tsx';
import { AutomationPanel } from './AutomationPanel.tsx';
import { EnablementGrid } from './EnablementGrid.tsx';
import { ImagesPanel } from './ImagesPanel.tsx';
import { SettingsPanel } from './SettingsPanel.tsx';
import { UsersPanel } from './UsersPanel.tsx';

const SECTIONS = [
  { key: 'commands', title: 'Commands and enablement', site: false },
  { key: 'settings', title: 'Server settings', site: true },
  { key: 'images', title: 'Images', site: true },
  { key: 'automation', title: 'Automation', site: false },
  { key: 'users', title: 'Users and roles', site: false },
] as const;

export function AdminPage({ me }: { me: Me }) {
  const admin = me.containerManager;
  const { query: q } = useLocation();
  const shown = SECTIONS.filter((s) => admin || !s.site);
  const section = shown.find((s) => s.key === q.get('section')) ?? shown[0];
  const [reloadKey, setReloadKey] = useState(0);
  return (
    <section aria-labelledby="admin-title">
      <h1 id="admin-title">Administration</h1>
      {!admin ? (
        <p className="notice" role="note">Site settings, images and orchestrations are for site administrators. Here are the parts of your
          projects you can manage; the server refuses what your role does not allow, and says why.</p>
      ) : null}
      <Tabs label="Administration sections" idPrefix="admin-tab-" panelId="admin-panel" selected={section.key}
        onSelect={(key) => setQuery('/admin', { section: key })} tabs={shown.map((s) => ({ key: s.key, label: s.title }))} />
      <div role="tabpanel" id="admin-panel" aria-labelledby={`admin-tab-${section.key}`} className="panel">
        {section.key === 'commands' ? <EnablementGrid admin={admin} reloadKey={reloadKey} /> : null}
        {section.key === 'settings' ? <SettingsPanel /> : null}
        {section.key === 'images' ? <ImagesPanel onSaved={() => setReloadKey((k) => k + 1)} /> : null}
        {section.key === 'automation' ? <AutomationPanel admin={admin} /> : null}
        {section.key === 'users' ? <UsersPanel admin={me.siteAdmin} /> : null}
      </div>
    </section>
  );
}
