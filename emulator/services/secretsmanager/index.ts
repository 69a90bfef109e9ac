/** Secrets Manager (AWS JSON 1.1, secretsmanager.<Op>): secrets with staged versions and scheduled deletion. */
import * as secretsmanager from '@aws-sdk/client-secrets-manager'
import type { Cloud, ServiceModule } from '../../types.js'
import { createJsonModule } from '../../protocols/json-rpc.js'
import { SECRETSMANAGER_ERRORS } from './errors.js'
import { handlers } from './handlers.js'
import { SecretStore } from './model.js'

export { SECRETSMANAGER_ERRORS } from './errors.js'

export function createSecretsManager(cloud: Cloud): ServiceModule {
  const store = new SecretStore(cloud.accountId)
  return createJsonModule({
    signingName: 'secretsmanager',
    targetPrefix: 'secretsmanager',
    schemas: secretsmanager as unknown as Record<string, unknown>,
    errors: SECRETSMANAGER_ERRORS,
    throttleCode: 'ThrottlingException',
    serverErrorCode: 'InternalServiceError',
    handlers: handlers(store),
    state: () => ({ secrets: store.state() })
  })
}
