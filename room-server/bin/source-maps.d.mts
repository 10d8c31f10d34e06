/** Types of source-maps.mjs (used by start.mjs and the tests). */
export declare function keep(outdir: string): void;
export declare function lookup(
  file: string,
  line: number,
  column: number,
): { source: string; line: number; column: number } | null;
export declare function install(): void;
