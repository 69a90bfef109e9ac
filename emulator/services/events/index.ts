/**
 * EventBridge / CloudWatch Events (AWS JSON 1.1, AWSEvents.<Op>, signing name events): rules and
 * targets on the default bus, and delivery of EC2 instance state-change events to matching rules'
 * Lambda targets.
 */
import * as eventbridge from '@aws-sdk/client-eventbridge'
import type { Cloud, InstanceStateChange, ServiceModule } from '../../types.js'
import { onStop } from '../../core/hooks.js'
import { createJsonModule } from '../../protocols/json-rpc.js'
import { onStateChange } from './delivery.js'
import { EVENTS_ERRORS } from './errors.js'
import { handlers } from './handlers.js'
import type { EventsState } from './model.js'

export { EVENTS_ERRORS } from './errors.js'

export function createEvents(cloud: Cloud): ServiceModule {
  const state: EventsState = { rules: new Map(), held: [] }
  const listener = (change: InstanceStateChange): void => onStateChange(cloud, state, change)
  cloud.bus.on('ec2-state-change', listener)
  const close = async (): Promise<void> => {
    cloud.bus.off('ec2-state-change', listener)
    if (state.flushTimer) clearTimeout(state.flushTimer)
    state.flushTimer = undefined
    state.flushDone?.()
  }
  onStop(cloud, () => void close())
  return createJsonModule({
    signingName: 'events',
    targetPrefix: 'AWSEvents',
    schemas: eventbridge as unknown as Record<string, unknown>,
    errors: EVENTS_ERRORS,
    throttleCode: 'ThrottlingException',
    serverErrorCode: 'InternalException',
    handlers: handlers(cloud, state),
    state: () => [...state.rules.values()].map((r) => ({ name: r.name, region: r.region, arn: r.arn, state: r.state, eventPattern: r.eventPattern, targets: r.targets })),
    close
  })
}
