/** STS (awsQuery protocol): GetCallerIdentity. */
import * as sts from '@aws-sdk/client-sts'
import type { Cloud, ServiceModule } from '../../types.js'
import { createQueryModule } from '../../protocols/query.js'
import { STS_ERRORS } from './errors.js'
import { handlers } from './handlers.js'

export { STS_ERRORS } from './errors.js'

export function createSts(cloud: Cloud): ServiceModule {
  return createQueryModule({
    signingName: 'sts',
    flavor: 'query',
    xmlns: 'https://sts.amazonaws.com/doc/2011-06-15/',
    schemas: sts as unknown as Record<string, unknown>,
    errors: STS_ERRORS,
    throttleCode: 'Throttling',
    serverErrorCode: 'InternalFailure',
    handlers: handlers(cloud)
  })
}
