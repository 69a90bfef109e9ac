/** Lambda (REST-JSON, signing name lambda): functions, permissions and invocation of their uploaded code. */
import * as lambda from '@aws-sdk/client-lambda'
import type { Cloud, ServiceModule } from '../../types.js'
import { onStop } from '../../core/hooks.js'
import { createRestModule } from '../../protocols/rest.js'
import { jsonBodyCodec, restJsonError } from '../../protocols/rest-json.js'
import { accountLimit, functionLimit } from './concurrency.js'
import { LAMBDA_ERRORS, lambdaError } from './errors.js'
import { LambdaExecutor } from './exec.js'
import { handlers } from './handlers.js'
import { mappingConfiguration } from './esm.js'
import { executionRole } from './execution-role.js'
import { stopPoller } from './poller.js'
import { functionLogs, invoker } from './invoke.js'
import { configuration, type LambdaState } from './model.js'

export { LAMBDA_ERRORS } from './errors.js'

export function createLambda(cloud: Cloud): ServiceModule {
  const state: LambdaState = {
    functions: new Map(),
    mappings: new Map(),
    executor: new LambdaExecutor({
      endpoint: () => cloud.endpoint(),
      logs: () => functionLogs(cloud, state),
      functionLimit: (arn) => functionLimit(cloud, state, arn),
      accountLimit: () => accountLimit(cloud),
      credentials: (s) => executionRole(cloud, state, s)
    })
  }
  cloud.shared.functions = invoker(cloud, state)
  // the core runs stop handlers before it waits for background work: finish running invocations, take no new ones
  onStop(cloud, () => {
    state.mappings.forEach(stopPoller)
    state.executor.drain()
  })
  return createRestModule({
    signingName: 'lambda',
    schemas: lambda as unknown as Record<string, unknown>,
    handlers: handlers(cloud, state),
    codec: jsonBodyCodec(() =>
      lambdaError(
        'InvalidRequestContentException',
        'Could not parse request body into json: the body is not a JSON object'
      )
    ),
    errors: LAMBDA_ERRORS,
    throttleCode: 'TooManyRequestsException',
    serverErrorCode: 'ServiceException',
    error: (err) => {
      const reason = (err as { reason?: string }).reason ?? 'CallerRateLimitExceeded'
      return restJsonError(
        err,
        err.code === 'TooManyRequestsException' ? { retryAfterSeconds: '1', Reason: reason } : {},
        lambda as unknown as Record<string, unknown>
      )
    },
    state: () =>
      [...state.functions.values()].map((f) => {
        const { running, peak } = state.executor.concurrency(f.arn)
        const mappings = [...state.mappings.values()]
          .filter((m) => m.functionArn === f.arn)
          .map((m) => ({ ...mappingConfiguration(m), ...m.stats }))
        return {
          ...configuration(f),
          policy: f.policy,
          ...f.stats,
          reservedConcurrency: f.reservedConcurrency,
          running,
          peakConcurrency: peak,
          eventSourceMappings: mappings
        }
      }),
    close: () => state.executor.close()
  })
}
