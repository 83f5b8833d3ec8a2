/** The wrappers that cannot run on an object, each with the checks it failed (XCS's answer to "why isn't my command in the menu?"). */
import type { Availability } from '../api/types.ts';

export function WhyNotPanel({ unavailable, objectLabel }: { unavailable: Availability['unavailable']; objectLabel: string }) {
  if (unavailable.length === 0) return null;
  return (
    <section className="panel why-not" aria-labelledby="why-not-title">
      <h3 id="why-not-title">Cannot run on {objectLabel}</h3>
      <ul>
        {unavailable.map((w) => (
          <li key={w['wrapper-id']} data-wrapper-id={w['wrapper-id']}>
            <strong>{w['wrapper-label'] || w['wrapper-name']}</strong> <span className="muted">({w['command-label'] || w['command-name']})</span>
            <ul className="reasons">
              {w.reasons.map((r, i) => (
                <li key={i}><span className="reason-check">{r.check}</span> {r.message}</li>
              ))}
            </ul>
          </li>
        ))}
      </ul>
    </section>
  );
}
