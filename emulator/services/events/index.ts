/**
 * EventBridge / CloudWatch Events (AWS JSON 1.1, AWSEvents.<Op>, signing name events): rules and
 * targets on the default bus, delivery of EC2 instance state-change events and Auto Scaling's
 * EC2 Instance Launch Successful events to matching rules'
 * Lambda and SQS targets, and schedule rules fired on the schedule clock (schedule.ts). Control
 * API: GET /_emulator/schedules, POST /_emulator/schedules/<rule>/fire, GET /_emulator/events/metrics.
 */
import * as eventbridge from '@aws-sdk/client-eventbridge'
import type { Cloud, GroupLaunch, InstanceStateChange, ServiceModule } from '../../types.js'
import { onStop, registerControlRoutes } from '../../core/hooks.js'
import { createJsonModule } from '../../protocols/json-rpc.js'
import { onGroupLaunch, onStateChange } from './delivery.js'
import { EVENTS_ERRORS } from './errors.js'
import { handlers } from './handlers.js'
import { ruleKey, type EventsState } from './model.js'
import { fire, schedules, stopClock } from './schedule.js'

export { EVENTS_ERRORS } from './errors.js'

export function createEvents(cloud: Cloud): ServiceModule {
  const state: EventsState = { rules: new Map(), held: [] }
  const listener = (change: InstanceStateChange): void => onStateChange(cloud, state, change)
  const launched = (launch: GroupLaunch): void => onGroupLaunch(cloud, state, launch)
  cloud.bus.on('ec2-state-change', listener)
  cloud.bus.on('autoscaling-launch', launched)
  const close = async (): Promise<void> => {
    cloud.bus.off('ec2-state-change', listener)
    cloud.bus.off('autoscaling-launch', launched)
    stopClock(state)
    if (state.flushTimer) clearTimeout(state.flushTimer)
    state.flushTimer = undefined
    state.flushDone?.()
  }
  onStop(cloud, () => void close())
  registerControlRoutes(cloud, [
    { method: 'GET', path: /^\/_emulator\/schedules$/, handle: () => ({ status: 200, body: schedules(state) }) },
    {
      method: 'POST',
      path: /^\/_emulator\/schedules\/([^/]+)\/fire$/,
      handle: ([name = ''], _body, query) => {
        const rule = state.rules.get(ruleKey(query.get('region') ?? 'us-east-1', name))
        if (!rule?.scheduleExpression) return { status: 404, body: { error: `no schedule rule ${name}` } }
        if (!rule.state.startsWith('ENABLED')) return { status: 409, body: { error: `rule ${name} is ${rule.state}` } }
        return { status: 200, body: { rule: rule.arn, deliveries: fire(cloud, state, rule), metrics: rule.metrics } }
      }
    },
    {
      method: 'GET',
      path: /^\/_emulator\/events\/metrics$/,
      handle: () => ({
        status: 200,
        body: Object.fromEntries([...state.rules.values()].map((r) => [r.arn, r.metrics]))
      })
    }
  ])
  return createJsonModule({
    signingName: 'events',
    targetPrefix: 'AWSEvents',
    schemas: eventbridge as unknown as Record<string, unknown>,
    errors: EVENTS_ERRORS,
    throttleCode: 'ThrottlingException',
    serverErrorCode: 'InternalException',
    handlers: handlers(cloud, state),
    state: () =>
      [...state.rules.values()].map((r) => ({
        name: r.name,
        region: r.region,
        arn: r.arn,
        state: r.state,
        eventPattern: r.eventPattern,
        scheduleExpression: r.scheduleExpression,
        targets: r.targets,
        metrics: r.metrics
      })),
    close
  })
}
