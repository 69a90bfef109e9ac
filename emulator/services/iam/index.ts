/** IAM (awsQuery protocol): roles and their inline policies, kept in cloud.shared.roles. */
import * as iam from '@aws-sdk/client-iam'
import type { Cloud, ServiceModule } from '../../types.js'
import { createQueryModule } from '../../protocols/query.js'
import { IAM_ERRORS } from './errors.js'
import { handlers } from './handlers.js'
import { IamRoles } from './model.js'
import { policyStore } from '../../iam-policy/store.js'

export { IAM_ERRORS } from './errors.js'

export function createIam(cloud: Cloud): ServiceModule {
  const roles = new IamRoles(cloud)
  return createQueryModule({
    signingName: 'iam',
    flavor: 'query',
    xmlns: 'https://iam.amazonaws.com/doc/2010-05-08/',
    schemas: iam as unknown as Record<string, unknown>,
    errors: IAM_ERRORS,
    throttleCode: 'Throttling',
    serverErrorCode: 'ServiceFailure',
    state: () => ({
      roles: roles.state(),
      instanceProfiles: [...policyStore(cloud).instanceProfiles.values()],
      policies: [...policyStore(cloud).policies.values()]
    }),
    handlers: handlers(cloud, roles)
  })
}
