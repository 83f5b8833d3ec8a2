/**
 * A uPlot chart in React: created once per `options` identity, given new data in place, destroyed on unmount,
 * resized with its box. The chart is a picture for sighted users; every chart on the dashboard also has its
 * numbers in a table, and its series differ by dash pattern and marker as well as colour.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

interface Props {
  title: string;
  options: Omit<uPlot.Options, 'width' | 'height'>;
  data: uPlot.AlignedData;
  height?: number;
  testId?: string;
  /** How the series look apart from colour (dash, marker), read out under the chart. */
  note?: string;
}

export function Chart({ title, options, data, height = 240, testId, note }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const u = new uPlot({ ...options, width: Math.max(300, el.clientWidth), height }, data, el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(300, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [options, height]); // data changes are applied below, without rebuilding the chart

  useEffect(() => { plot.current?.setData(data); }, [data]);

  return (
    <figure className="chart" data-testid={testId}>
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}; the numbers are in the tables below`} />
      {note ? <p className="help">{note}</p> : null}
    </figure>
  );
}
