/** Route 53 (REST-XML, signing name route53): public and private hosted zones, record sets and changes. */
import * as route53 from '@aws-sdk/client-route-53'
import type { Cloud, ServiceModule } from '../../types.js'
import { createRestModule } from '../../protocols/rest.js'
import { xmlBodyCodec, xmlError } from '../../protocols/rest-xml.js'
import { ROUTE53_ERRORS, route53Error } from './errors.js'
import { handlers } from './handlers.js'
import { dumpState, route53State } from './model.js'
import { InvalidChangeBatchError } from './records.js'

export { ROUTE53_ERRORS } from './errors.js'

const NS = 'https://route53.amazonaws.com/doc/2013-04-01/'

export function createRoute53(cloud: Cloud): ServiceModule {
  const state = route53State(cloud)
  return createRestModule({
    signingName: 'route53',
    schemas: route53 as unknown as Record<string, unknown>,
    handlers: handlers(cloud, state),
    codec: xmlBodyCodec(NS, () => route53Error('InvalidInput', 'Invalid XML ; the request body could not be parsed')),
    errors: ROUTE53_ERRORS,
    throttleCode: 'Throttling',
    serverErrorCode: 'InternalError',
    error: (err) => xmlError(err, NS, err instanceof InvalidChangeBatchError ? err.messages : undefined),
    state: () => dumpState(state)
  })
}
