/** Elastic Load Balancing v2 (awsQuery protocol, signing name elasticloadbalancing): Application Load Balancers. */
import * as elbv2 from '@aws-sdk/client-elastic-load-balancing-v2'
import type { Cloud, ServiceModule } from '../../types.js'
import { createQueryModule } from '../../protocols/query.js'
import { ELBV2_ERRORS } from './errors.js'
import { handlers, state } from './handlers.js'
import { elbState } from './model.js'

export { ELBV2_ERRORS } from './errors.js'
export { elbState, setTargetHealthSource, type TargetHealthSource } from './model.js'
export { deregisterGroupTargets, registerGroupTargets, registeredTargetStates } from './target-groups.js'

export function createElbv2(cloud: Cloud): ServiceModule {
  const s = elbState(cloud)
  return createQueryModule({
    signingName: 'elasticloadbalancing',
    flavor: 'query',
    xmlns: 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/',
    schemas: elbv2 as unknown as Record<string, unknown>,
    errors: ELBV2_ERRORS,
    throttleCode: 'ThrottlingException',
    serverErrorCode: 'InternalFailure',
    state: () => state(s),
    handlers: handlers(cloud)
  })
}
