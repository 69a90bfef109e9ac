/** Placeholder until the real module lands: every operation is unknown. */
import { AwsError } from '../types.js'
import type { Cloud, EmulatorResponse, ServiceModule } from '../types.js'

export function createLogs(_cloud: Cloud): ServiceModule {
  return {
    signingName: 'logs',
    throttleCode: 'ThrottlingException',
    throttleStatus: 400,
    operation: () => {
      throw new AwsError('UnknownOperationException', 'logs is not implemented yet')
    },
    handle: () => Promise.reject(new AwsError('UnknownOperationException', 'logs is not implemented yet')),
    error: (err): EmulatorResponse => ({
      status: err.status,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ __type: err.code, message: err.message })
    })
  }
}
