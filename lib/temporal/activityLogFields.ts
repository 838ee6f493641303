import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { z } from 'zod';
import { withLogFields } from '../platform/log.js';

/** Activities take their tenant as `tenant` in their one argument, when they have one. */
const TenantInput = z.object({ tenant: z.string() });

/**
 * Every log line an activity writes names its workflow, the activity and, when its input says, the tenant
 * (lib/platform/log.ts); the trace ids come from the activity's span when the worker is traced.
 */
export const activityLogFields: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    execute: (input, next) => {
      const tenant = TenantInput.safeParse(input.args[0]);
      // A standalone activity (none here yet) has no workflow.
      const workflowId = ctx.info.workflowExecution?.workflowId;
      return withLogFields(
        {
          ...(workflowId !== undefined && { workflow_id: workflowId }),
          activity: ctx.info.activityType,
          ...(tenant.success && { tenant: tenant.data.tenant }),
        },
        () => next(input),
      );
    },
  },
});
