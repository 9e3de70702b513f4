import { Area, AreaChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

interface Point {
  readonly at: string;
  readonly online: number | null;
}

function clock(at: string): string {
  return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** A sentence for screen readers and for anyone who cannot read the chart. */
function summaryOf(points: readonly Point[]): string {
  const sampled = points.filter((point): point is Point & { online: number } => point.online !== null);
  const last = sampled.at(-1);
  if (last === undefined) return 'No samples yet: the api records one every few minutes.';
  const peak = sampled.reduce((best, point) => (point.online > best.online ? point : best), last);
  return `${last.online} online at ${clock(last.at)}; the most in the last 24 hours was ${peak.online} at ${clock(peak.at)}.`;
}

/**
 * The online-device series as an area chart (recharts, in this page's lazy chunk). Gaps where no api
 * replica took a sample stay gaps. Colours come from the stylesheet (currentColor), so dark mode works.
 */
export function OnlineChart({ points }: { points: readonly Point[] }) {
  const data = points.map((point) => ({ label: clock(point.at), online: point.online }));
  return (
    <figure className="chart">
      <div className="chart-area" aria-hidden="true">
        <ResponsiveContainer width="100%" height={220}>
          <AreaChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
            <XAxis dataKey="label" minTickGap={32} tickLine={false} />
            <YAxis allowDecimals={false} tickLine={false} width={48} />
            <Tooltip />
            <Area
              type="monotone"
              dataKey="online"
              name="Online"
              stroke="currentColor"
              fill="currentColor"
              fillOpacity={0.15}
              connectNulls={false}
              isAnimationActive={false}
            />
          </AreaChart>
        </ResponsiveContainer>
      </div>
      <figcaption className="muted">{summaryOf(points)}</figcaption>
    </figure>
  );
}
