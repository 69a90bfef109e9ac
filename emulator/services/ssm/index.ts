/** SSM (AWS JSON 1.1, AmazonSSM.<Op>): the Amazon Linux 2023 public AMI parameters and the account's Parameter Store. */
import * as ssm from '@aws-sdk/client-ssm'
import type { Cloud, ServiceModule } from '../../types.js'
import { createJsonModule } from '../../protocols/json-rpc.js'
import { SSM_ERRORS } from './errors.js'
import { handlers } from './handlers.js'
import { ParameterStore, PublicParameters } from './model.js'

export { SSM_ERRORS } from './errors.js'

export function createSsm(cloud: Cloud): ServiceModule {
  const store = new ParameterStore(cloud.accountId)
  return createJsonModule({
    signingName: 'ssm',
    targetPrefix: 'AmazonSSM',
    schemas: ssm as unknown as Record<string, unknown>,
    errors: SSM_ERRORS,
    throttleCode: 'ThrottlingException',
    serverErrorCode: 'InternalServerError',
    handlers: handlers(new PublicParameters(), store),
    state: () => ({ accountId: cloud.accountId, parameters: store.state() })
  })
}
