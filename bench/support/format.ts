/** How the benchmarks say what they do and print their figures. */

export const seconds = (ms: number): string => (ms / 1000).toFixed(1);

export const perSecond = (count: number, ms: number): number => Math.round(count / (ms / 1000));

/** A progress line: the time of day, what it is about, what happened. */
export const say = (label: string, message: string): void =>
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${label}: ${message}`);

/** A number padded with zeros, so names sort in their numbers' order. */
export const pad = (i: number, width = 7): string => String(i).padStart(width, '0');

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
