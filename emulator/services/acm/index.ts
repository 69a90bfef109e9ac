/** ACM (AWS JSON 1.1, CertificateManager.<Op>, signing name acm): public certificates validated through Route 53 DNS. */
import * as acm from '@aws-sdk/client-acm'
import type { Cloud, ServiceModule } from '../../types.js'
import { createJsonModule } from '../../protocols/json-rpc.js'
import { ACM_ERRORS } from './errors.js'
import { handlers, state } from './handlers.js'

export { ACM_ERRORS } from './errors.js'

export function createAcm(cloud: Cloud): ServiceModule {
  return createJsonModule({
    signingName: 'acm',
    targetPrefix: 'CertificateManager',
    schemas: acm as unknown as Record<string, unknown>,
    errors: ACM_ERRORS,
    throttleCode: 'ThrottlingException',
    serverErrorCode: 'InternalServerException',
    handlers: handlers(cloud),
    state: () => state(cloud)
  })
}
