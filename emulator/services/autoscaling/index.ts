/** Auto Scaling (awsQuery protocol): groups, tags, instance refreshes, scaling activities. */
import * as autoscaling from '@aws-sdk/client-auto-scaling'
import type { Cloud, ServiceModule } from '../../types.js'
import { createQueryModule } from '../../protocols/query.js'
import { AUTOSCALING_ERRORS } from './errors.js'
import { fleetOf } from './fleet.js'
import { handlers, state } from './handlers.js'

export { AUTOSCALING_ERRORS } from './errors.js'

export function createAutoScaling(cloud: Cloud): ServiceModule {
  const fleet = fleetOf(cloud)
  return createQueryModule({
    signingName: 'autoscaling',
    flavor: 'query',
    xmlns: 'http://autoscaling.amazonaws.com/doc/2011-01-01/',
    schemas: autoscaling as unknown as Record<string, unknown>,
    errors: AUTOSCALING_ERRORS,
    throttleCode: 'Throttling',
    serverErrorCode: 'InternalFailure',
    state: () => state(fleet),
    handlers: handlers(fleet)
  })
}
