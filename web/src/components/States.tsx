/** The loading, empty and error states every page shows the same way. */
import type { ReactNode } from 'react';

export function Loading({ what }: { what: string }) {
  return (
    <p className="state state-loading" role="status">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="state state-empty">{children}</p>;
}

/** An error the user should read: announced to screen readers, with the server's hint when it gave one. */
export function ErrorBox({ title, message, hint }: { title?: string; message: string; hint?: string }) {
  return (
    <div className="error-box" role="alert">
      {title ? <strong>{title}: </strong> : null}
      <span className="error-message">{message}</span>
      {hint ? <p className="hint">{hint}</p> : null}
    </div>
  );
}
