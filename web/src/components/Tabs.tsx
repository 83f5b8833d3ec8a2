/**
 * A row of tabs (WAI-ARIA tabs pattern): buttons with `role="tab"`, the selected one in the tab order, arrow keys,
 * Home and End moving between them (and selecting, as the pages load their panels on selection).
 */
import { useRef, type KeyboardEvent, type ReactNode } from 'react';

interface TabDef {
  key: string;
  label: ReactNode;
}

interface Props {
  label: string;
  tabs: TabDef[];
  selected: string;
  idPrefix: string;
  panelId: string;
  onSelect: (key: string) => void;
}

export function Tabs({ label, tabs, selected, idPrefix, panelId, onSelect }: Props) {
  const list = useRef<HTMLDivElement>(null);
  const onKey = (e: KeyboardEvent<HTMLDivElement>): void => {
    const i = tabs.findIndex((t) => t.key === selected);
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    const to = tabs[(next + tabs.length) % tabs.length];
    onSelect(to.key);
    list.current?.querySelector<HTMLButtonElement>(`#${CSS.escape(`${idPrefix}${to.key}`)}`)?.focus();
  };
  return (
    <div role="tablist" aria-label={label} className="tabs" ref={list} onKeyDown={onKey}>
      {tabs.map((t) => (
        <button key={t.key} type="button" role="tab" id={`${idPrefix}${t.key}`} aria-selected={t.key === selected}
          aria-controls={panelId} tabIndex={t.key === selected ? 0 : -1} onClick={() => onSelect(t.key)}>
          {t.label}
        </button>
      ))}
    </div>
  );
}
