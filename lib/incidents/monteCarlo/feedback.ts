/**
 * What a Monte Carlo alert's status (alert_feedback) can say, and which of it resolves the incident. Plain values, no
 * zod: the incident workflow reads them (lib/incidents/applyEvent.ts), and a workflow's bundle evaluates its imports
 * again for every workflow it starts; importing the zod contracts beside this cost each incident ~15 ms of the workflow
 * thread (docs/benchmarks.md). test/unit/workflowBundle.test.ts keeps zod out of the bundle.
 */
export const MONTE_CARLO_ALERT_FEEDBACK = [
  'investigating',
  'no_status',
  'work_in_progress',
  'fixed',
  'expected',
  'no_action_needed',
  'false_positive',
] as const;
export type MonteCarloAlertFeedback = (typeof MONTE_CARLO_ALERT_FEEDBACK)[number];

export const MONTE_CARLO_RESOLVING_FEEDBACK: readonly MonteCarloAlertFeedback[] = [
  'fixed',
  'expected',
  'no_action_needed',
  'false_positive',
];
