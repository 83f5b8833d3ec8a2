/**
 * A table that renders only the rows in view (plus a margin), so a page of thousands of rows costs the browser
 * the same as a page of thirty. Rows have one fixed height; the body scrolls inside its own box, the header
 * stays. Keyboard users tab through the links of the visible rows; the scroll box itself is focusable too, so
 * arrow keys and Page Down scroll it.
 */
import { useState, type ReactNode, type UIEvent } from 'react';

export interface Column<T> {
  key: string;
  header: string;
  /** CSS grid track, e.g. `2fr` or `8rem`. */
  width?: string;
  align?: 'right';
  render: (row: T) => ReactNode;
}

interface Props<T> {
  caption: string;
  columns: Array<Column<T>>;
  rows: readonly T[];
  rowKey: (row: T) => string;
  rowHeight?: number;
  /** The scroll box's height in rows at most. */
  visibleRows?: number;
  testId?: string;
}

const OVERSCAN = 10;

export function VirtualTable<T>({ caption, columns, rows, rowKey, rowHeight = 34, visibleRows = 16, testId }: Props<T>) {
  const [top, setTop] = useState(0);
  const height = Math.min(rows.length, visibleRows) * rowHeight;
  const first = Math.max(0, Math.floor(top / rowHeight) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((top + height) / rowHeight) + OVERSCAN);
  const template = columns.map((c) => c.width ?? '1fr').join(' ');
  const onScroll = (e: UIEvent<HTMLDivElement>): void => setTop(e.currentTarget.scrollTop);
  return (
    <div className="vtable" role="table" aria-label={caption} aria-rowcount={rows.length + 1} data-testid={testId}>
      <div className="vrow vhead" role="row" style={{ gridTemplateColumns: template }}>
        {columns.map((c) => <span key={c.key} role="columnheader" className={c.align === 'right' ? 'num' : undefined}>{c.header}</span>)}
      </div>
      <div className="vbody" role="rowgroup" tabIndex={0} aria-label={`${caption}: scroll for more`} onScroll={onScroll}
        style={{ height: height + 2 }}>
        <div style={{ height: rows.length * rowHeight, position: 'relative' }}>
          {rows.slice(first, last).map((row, i) => (
            <div key={rowKey(row)} className="vrow" role="row" aria-rowindex={first + i + 2}
              style={{ gridTemplateColumns: template, top: (first + i) * rowHeight, height: rowHeight }}>
              {columns.map((c) => <span key={c.key} role="cell" className={c.align === 'right' ? 'num' : undefined}>{c.render(row)}</span>)}
            </div>
          ))}
        </div>
      </div>
    </div>
  );
}
