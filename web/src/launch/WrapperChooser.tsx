/** The wrappers that can run on the chosen object, as a radio group (`GET /xapi/availability?object=`), and why the others cannot. */
import type { Availability, WrapperSummary } from '../api/types.ts';
import { Empty } from '../components/States.tsx';
import { WhyNotPanel } from './WhyNotPanel.tsx';

interface Props {
  availability: Availability;
  chosen: number | null;
  onChoose: (w: WrapperSummary) => void;
}

export function WrapperChooser({ availability, chosen, onChoose }: Props) {
  const label = availability.object.label ?? availability.object.uri;
  return (
    <div className="wrappers">
      <fieldset className="panel">
        <legend>Can run on {label}</legend>
        {availability.available.length === 0 ? <Empty>No wrapper can run here; the list below says why.</Empty> : null}
        {availability.available.map((w) => (
          <label key={w['wrapper-id']} className="choice" data-wrapper-id={w['wrapper-id']}>
            <input type="radio" name="wrapper" checked={chosen === w['wrapper-id']} onChange={() => onChoose(w)} />
            <span>
              <strong>{w['wrapper-label'] || w['wrapper-name']}</strong> <span className="muted">({w['command-label'] || w['command-name']})</span>
              {w['wrapper-description'] ? <span className="help"> — {w['wrapper-description']}</span> : null}
            </span>
          </label>
        ))}
      </fieldset>
      <WhyNotPanel unavailable={availability.unavailable} objectLabel={label} />
    </div>
  );
}
