/** EventBridge's state: rules on the default bus with their targets, and deliveries held for reordering. */
import { eventsError } from './errors.js'

export interface Target {
  Id: string
  Arn: string
  Input?: string
  InputPath?: string
  RoleArn?: string
}

export interface Rule {
  name: string
  region: string
  arn: string
  eventPattern?: string
  scheduleExpression?: string
  state: string
  description?: string
  roleArn?: string
  targets: Target[]
  tags: Record<string, string>
  /** What CloudWatch reports for the rule: events matched (or schedule fires), target invocations, failed ones. */
  metrics: RuleMetrics
  /** Schedule rules: the next fire time on the schedule clock (schedule.ts), once computed. */
  nextFire?: number
}

export interface RuleMetrics {
  TriggeredRules: number
  Invocations: number
  FailedInvocations: number
}

/** One event for one target: a Lambda function or an SQS queue. */
export interface Delivery {
  rule: Rule
  targetArn: string
  payload: string
}

export interface EventsState {
  rules: Map<string, Rule>
  held: Delivery[]
  flushTimer?: NodeJS.Timeout
  flushDone?: () => void
  /** The schedule clock (schedule.ts), started with the first schedule rule. */
  clock?: ScheduleClock
}

export interface ScheduleClock {
  /** Epoch ms on the schedule clock, which runs 1 / simulation.scheduleTimeScale times as fast as real time. */
  now: number
  lastReal: number
  timer?: NodeJS.Timeout
}

export function newMetrics(): RuleMetrics {
  return { TriggeredRules: 0, Invocations: 0, FailedInvocations: 0 }
}

export function ruleKey(region: string, name: string): string {
  return `${region}/${name}`
}

/** The bus name from a name or an ARN (the emulator has only the default bus). */
export function busName(bus: string | undefined): string {
  return (bus ?? 'default').replace(/^arn:aws:events:[^:]+:\d+:event-bus\//, '')
}

export function findRule(state: EventsState, region: string, name: string, bus: string | undefined): Rule {
  const rule = busName(bus) === 'default' ? state.rules.get(ruleKey(region, name)) : undefined
  if (!rule) throw eventsError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus ${busName(bus)}.`)
  return rule
}

export function ruleByArn(state: EventsState, arn: string): Rule {
  const rule = [...state.rules.values()].find((r) => r.arn === arn)
  if (!rule)
    throw eventsError(
      'ResourceNotFoundException',
      `Rule ${arn.split('/').pop() ?? arn} does not exist on EventBus default.`
    )
  return rule
}
