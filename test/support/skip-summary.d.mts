/** Types for test/support/skip-summary.mjs (a node:test reporter, plain JS so node loads it as is). */
export declare const kInstallScript: string;
export declare function installCommand(uid?: number): string;
export declare function missingToolOf(reason: string): string | null;
export declare function groupOf(reason: string | boolean | null | undefined): { label: string; tool: string | null };

export interface ReporterEvent {
  readonly type: string;
  readonly data?: { readonly skip?: string | boolean; readonly details?: { readonly type?: string; readonly [key: string]: unknown }; readonly [key: string]: unknown };
}

export declare class SkipCollector {
  ran: number;
  add(event: ReporterEvent): void;
  line(options?: { uid?: number }): string;
}

export default function skipSummary(source: AsyncIterable<ReporterEvent>): AsyncGenerator<string, void>;
