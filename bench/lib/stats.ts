/** The part of GET /stats the benchmark reads. */
export interface ServiceStats {
  readonly received: number;
  readonly unique_processed: number;
  readonly duplicate_dropped: number;
  readonly in_flight_requests: number;
}

export async function fetchStats(baseUrl: string): Promise<ServiceStats> {
  const response = await fetch(`${baseUrl}/stats`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`GET /stats answered ${response.status}`);
  return (await response.json()) as ServiceStats;
}

/** Polls /stats until no request is in flight and `received` stopped moving (at most `timeoutMs`). */
export async function settledStats(baseUrl: string, timeoutMs = 10_000): Promise<ServiceStats> {
  const deadline = performance.now() + timeoutMs;
  let previous = await fetchStats(baseUrl);
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const current = await fetchStats(baseUrl);
    if (current.in_flight_requests === 0 && current.received === previous.received) return current;
    previous = current;
  }
  return previous;
}
