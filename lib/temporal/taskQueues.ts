/**
 * Spark activities run on their own queue beside the main one, so a worker can cap how many jobs it submits at once
 * while workflows and light activities keep flowing. Derived from the main queue, so one setting names both.
 */
export const sparkTaskQueue = (mainTaskQueue: string): string => `${mainTaskQueue}-spark`;
