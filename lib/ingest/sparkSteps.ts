import { SparkJobProgress } from './contracts.js';

/** One step of a Spark job and how long it took, as the job says it (`load_columns: <step> took <s> s`). */
export interface SparkStep {
  step: string;
  seconds: number;
}

const STEP_LINE = /^(load_assets|load_columns): (.+) took (\d+(?:\.\d+)?) s$/;

/** The steps a job timed, in order, from its output (Spark's own lines around them are passed over). */
export function sparkSteps(output: string): SparkStep[] {
  return output.split('\n').flatMap((line) => {
    const match = STEP_LINE.exec(line.trim());
    return match ? [{ step: match[2]!, seconds: Number(match[3]) }] : [];
  });
}

/** The steps as one line a person reads: `plan 1.2 s; write changes 40.3 s` (empty for none). */
export const stepsText = (steps: readonly SparkStep[]): string =>
  steps.map(({ step, seconds }) => `${step} ${seconds} s`).join('; ');

const PROGRESS_MARKER = 'METASYNC_PROGRESS ';

/** A job's progress line (spark/job_progress.py), or undefined for any other line and for one that is not valid. */
export function sparkProgress(line: string): SparkJobProgress | undefined {
  if (!line.startsWith(PROGRESS_MARKER)) return undefined;
  try {
    const parsed = SparkJobProgress.safeParse(JSON.parse(line.slice(PROGRESS_MARKER.length)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // a cut line: the next one says the same, newer
  }
}
