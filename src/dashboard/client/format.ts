/** Number and time formatting for the dashboard; pure, so tests can pin it. */

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

export function formatCount(value: number): string {
  return grouped.format(value);
}

/** Events per second: a decimal while small (0.4/s means something), whole numbers past 100. */
export function formatRate(perSecond: number): string {
  return perSecond < 100 ? oneDecimal.format(perSecond) : grouped.format(perSecond);
}

/** A ratio as a percentage; null (nothing to divide by) shows as a dash. */
export function formatPercent(ratio: number | null): string {
  return ratio === null ? '–' : `${oneDecimal.format(ratio * 100)} %`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value < 10 ? oneDecimal.format(value) : grouped.format(value)} ${units[unit]}`;
}

export function formatMilliseconds(milliseconds: number): string {
  return milliseconds < 10 ? `${milliseconds.toFixed(2)} ms` : `${grouped.format(milliseconds)} ms`;
}

/** Uptime: the two largest units, e.g. `3d 04h`, `1h 02m`, `5m 03s`, `12s`. */
export function formatDuration(totalSeconds: number): string {
  const seconds = Math.floor(totalSeconds);
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  const pad = (value: number) => String(value).padStart(2, '0');
  if (days > 0) return `${days}d ${pad(hours)}h`;
  if (hours > 0) return `${hours}h ${pad(minutes)}m`;
  if (minutes > 0) return `${minutes}m ${pad(rest)}s`;
  return `${rest}s`;
}
