/** CloudWatch Logs (AWS JSON 1.1, Logs_20140328.<Op>): log groups, streams and events; Lambda writes here too. */
import * as logs from '@aws-sdk/client-cloudwatch-logs'
import type { Cloud, ServiceModule } from '../../types.js'
import { createJsonModule } from '../../protocols/json-rpc.js'
import { LOGS_ERRORS } from './errors.js'
import { handlers } from './handlers.js'
import { logSink, type LogsState } from './model.js'

export { LOGS_ERRORS } from './errors.js'

export function createLogs(cloud: Cloud): ServiceModule {
  const state: LogsState = { groups: new Map(), seq: 0 }
  cloud.shared.logs = logSink(state)
  return createJsonModule({
    signingName: 'logs',
    targetPrefix: 'Logs_20140328',
    schemas: logs as unknown as Record<string, unknown>,
    errors: LOGS_ERRORS,
    throttleCode: 'ThrottlingException',
    serverErrorCode: 'ServiceUnavailableException',
    handlers: handlers(cloud, state),
    state: () =>
      [...state.groups.values()].map((g) => ({
        name: g.name,
        region: g.region,
        retentionInDays: g.retentionInDays,
        streams: [...g.streams.keys()]
      }))
  })
}
