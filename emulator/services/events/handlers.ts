/**
 * EventBridge / CloudWatch Events (JSON 1.1, AWSEvents.<Op>, signing name
 * events): rules and targets on the default bus, and delivery of EC2 instance
 * state-change events to matching rules' Lambda targets.
 */
import { randomUUID } from 'node:crypto'
import { type Cloud, type EmulatorRequest, type InstanceStateChange, type ServiceModule } from '../../types.js'
import { arr, jsonRpcBody, jsonRpcError, jsonRpcResponse, num, obj, requireStr, str, targetOperation } from '../../protocols/json-rpc.js'
import { onStop } from '../../core/hooks.js'
import { matchesPattern, parsePattern } from './pattern.js'
import { EVENTS_ERRORS, eventsError } from './errors.js'

interface Target {
  Id: string
  Arn: string
  Input?: string
  InputPath?: string
  RoleArn?: string
}

interface Rule {
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
}

interface Delivery {
  functionArn: string
  payload: string
}

interface State {
  rules: Map<string, Rule>
  held: Delivery[]
  flushTimer?: NodeJS.Timeout
  flushDone?: () => void
}

type Body = Record<string, unknown>
type Handler = (ctx: { state: State; body: Body; req: EmulatorRequest; cloud: Cloud }) => unknown

function busName(body: Body): string {
  const bus = str(body, 'EventBusName') ?? 'default'
  return bus.replace(/^arn:aws:events:[^:]+:\d+:event-bus\//, '')
}

function getRule(state: State, region: string, body: Body, nameKey = 'Name'): Rule {
  const name = requireStr(body, nameKey)
  const bus = busName(body)
  const rule = bus === 'default' ? state.rules.get(`${region}/${name}`) : undefined
  if (!rule) throw eventsError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus ${bus}.`)
  return rule
}

const putRule: Handler = ({ state, body, req, cloud }) => {
  const name = requireStr(body, 'Name')
  if (!/^[.\-_A-Za-z0-9]{1,64}$/.test(name)) {
    throw eventsError('ValidationException', `1 validation error detected: Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`)
  }
  if (busName(body) !== 'default') throw eventsError('ResourceNotFoundException', `Event bus ${busName(body)} does not exist.`)
  const eventPattern = str(body, 'EventPattern')
  const scheduleExpression = str(body, 'ScheduleExpression')
  if (!eventPattern && !scheduleExpression) throw eventsError('ValidationException', 'Parameter(s) EventPattern or ScheduleExpression must be specified.')
  if (eventPattern) parsePattern(eventPattern)
  const key = `${req.region}/${name}`
  const existing = state.rules.get(key)
  const rule: Rule = {
    name,
    region: req.region,
    arn: `arn:aws:events:${req.region}:${cloud.accountId}:rule/${name}`,
    eventPattern,
    scheduleExpression,
    state: str(body, 'State') ?? 'ENABLED',
    description: str(body, 'Description'),
    roleArn: str(body, 'RoleArn'),
    targets: existing?.targets ?? [],
    tags: { ...existing?.tags, ...tagsOf(body) }
  }
  state.rules.set(key, rule)
  return { RuleArn: rule.arn }
}

function tagsOf(body: Body): Record<string, string> {
  return Object.fromEntries(arr(body, 'Tags').map((t) => [String(obj(t).Key), String(obj(t).Value ?? '')]))
}

const describeRule: Handler = ({ state, body, req, cloud }) => {
  const r = getRule(state, req.region, body)
  return {
    Name: r.name,
    Arn: r.arn,
    EventPattern: r.eventPattern,
    ScheduleExpression: r.scheduleExpression,
    State: r.state,
    Description: r.description,
    RoleArn: r.roleArn,
    EventBusName: 'default',
    CreatedBy: cloud.accountId
  }
}

const listRules: Handler = ({ state, body, req }) => {
  const prefix = str(body, 'NamePrefix') ?? ''
  const rules = [...state.rules.values()].filter((r) => r.region === req.region && r.name.startsWith(prefix)).sort((a, b) => (a.name < b.name ? -1 : 1))
  return {
    Rules: rules.map((r) => ({ Name: r.name, Arn: r.arn, EventPattern: r.eventPattern, State: r.state, Description: r.description, EventBusName: 'default' }))
  }
}

const deleteRule: Handler = ({ state, body, req }) => {
  const name = requireStr(body, 'Name')
  const rule = state.rules.get(`${req.region}/${name}`)
  if (!rule) return {}
  if (rule.targets.length > 0) throw eventsError('ValidationException', "Rule can't be deleted since it has targets.")
  state.rules.delete(`${req.region}/${name}`)
  return {}
}

function setState(value: string): Handler {
  return ({ state, body, req }) => {
    getRule(state, req.region, body).state = value
    return {}
  }
}

function targetProblem(t: Target): string | undefined {
  if (!/^[.\-_A-Za-z0-9]{1,64}$/.test(t.Id)) return `Parameter ${t.Id} is not valid. Reason: Target Id must match [\\.\\-_A-Za-z0-9]+ and be at most 64 characters.`
  if (!/^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{0,12}:.+$/.test(t.Arn)) return `Parameter ${t.Arn} is not valid. Reason: Provided Arn is not in correct format.`
  return undefined
}

const putTargets: Handler = ({ state, body, req, cloud }) => {
  const rule = getRule(state, req.region, body, 'Rule')
  const targets = arr(body, 'Targets').map((t) => obj(t) as unknown as Target)
  if (targets.length === 0 || targets.length > 10) {
    throw eventsError('ValidationException', `1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length between 1 and 10`)
  }
  const failed: { TargetId: string; ErrorCode: string; ErrorMessage: string }[] = []
  for (const t of targets) {
    const problem = targetProblem(t)
    if (problem) failed.push({ TargetId: String(t.Id), ErrorCode: 'ValidationException', ErrorMessage: problem })
    else if (cloud.random() < (cloud.faults.putTargetsFailureRate ?? 0)) {
      failed.push({ TargetId: t.Id, ErrorCode: 'ConcurrentModificationException', ErrorMessage: 'Failed to add target(s) to the rule because of a concurrent modification. Retry the request.' })
    } else {
      const target: Target = { Id: t.Id, Arn: t.Arn, Input: t.Input, InputPath: t.InputPath, RoleArn: t.RoleArn }
      rule.targets = [...rule.targets.filter((x) => x.Id !== t.Id), target]
    }
  }
  return { FailedEntryCount: failed.length, FailedEntries: failed }
}

const listTargetsByRule: Handler = ({ state, body, req }) => {
  const rule = getRule(state, req.region, body, 'Rule')
  const start = Number(str(body, 'NextToken') ?? 0) || 0
  const limit = num(body, 'Limit') ?? 100
  const page = rule.targets.slice(start, start + limit)
  return { Targets: page, NextToken: start + limit < rule.targets.length ? String(start + limit) : undefined }
}

const removeTargets: Handler = ({ state, body, req }) => {
  const rule = getRule(state, req.region, body, 'Rule')
  const ids = arr(body, 'Ids').map(String)
  // removing an id that is not a target is a no-op, as in AWS
  rule.targets = rule.targets.filter((t) => !ids.includes(t.Id))
  return { FailedEntryCount: 0, FailedEntries: [] }
}

function ruleByArn(state: State, arn: string): Rule {
  const rule = [...state.rules.values()].find((r) => r.arn === arn)
  if (!rule) throw eventsError('ResourceNotFoundException', `Rule ${arn.split('/').pop() ?? arn} does not exist on EventBus default.`)
  return rule
}

const tagResource: Handler = ({ state, body }) => {
  const rule = ruleByArn(state, requireStr(body, 'ResourceARN'))
  Object.assign(rule.tags, tagsOf(body))
  return {}
}

const listTagsForResource: Handler = ({ state, body }) => {
  const rule = ruleByArn(state, requireStr(body, 'ResourceARN'))
  return { Tags: Object.entries(rule.tags).map(([Key, Value]) => ({ Key, Value })) }
}

const HANDLERS: Record<string, Handler> = {
  PutRule: putRule,
  DescribeRule: describeRule,
  ListRules: listRules,
  DeleteRule: deleteRule,
  EnableRule: setState('ENABLED'),
  DisableRule: setState('DISABLED'),
  PutTargets: putTargets,
  ListTargetsByRule: listTargetsByRule,
  RemoveTargets: removeTargets,
  TagResource: tagResource,
  ListTagsForResource: listTagsForResource
}

/** The event EventBridge emits for an EC2 instance state change. */
export function ec2StateChangeEvent(cloud: Cloud, change: InstanceStateChange): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: cloud.accountId,
    time: new Date(change.time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: change.region,
    resources: [`arn:aws:ec2:${change.region}:${cloud.accountId}:instance/${change.instanceId}`],
    detail: { 'instance-id': change.instanceId, state: change.state }
  }
}

function inputPath(event: Record<string, unknown>, path: string): unknown {
  const parts = path.replace(/^\$\.?/, '').split('.').filter((p) => p !== '')
  return parts.reduce<unknown>((node, key) => obj(node)[key], event)
}

function targetPayload(target: Target, event: Record<string, unknown>): string {
  if (target.Input !== undefined) return target.Input
  if (target.InputPath !== undefined) return JSON.stringify(inputPath(event, target.InputPath) ?? null)
  return JSON.stringify(event)
}

function deliveriesFor(cloud: Cloud, state: State, event: Record<string, unknown>): Delivery[] {
  const functions = cloud.shared.functions
  if (!functions) return []
  const out: Delivery[] = []
  for (const rule of state.rules.values()) {
    if (rule.region !== event.region || !rule.state.startsWith('ENABLED') || !rule.eventPattern) continue
    if (!matchesPattern(parsePattern(rule.eventPattern), event)) continue
    for (const target of rule.targets) {
      if (!target.Arn.startsWith('arn:aws:lambda:')) continue
      if (!functions.allows(target.Arn, 'events.amazonaws.com', rule.arn)) continue
      out.push({ functionArn: target.Arn, payload: targetPayload(target, event) })
    }
  }
  return out
}

function deliver(cloud: Cloud, deliveries: Delivery[]): void {
  for (const d of deliveries) cloud.shared.functions?.invokeAsync(d.functionArn, d.payload)
}

function shuffle<T>(cloud: Cloud, items: T[]): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(cloud.random() * (i + 1))
    const a = out[i] as T
    out[i] = out[j] as T
    out[j] = a
  }
  return out
}

/** Hold deliveries for the reorder window, then deliver them shuffled. */
function hold(cloud: Cloud, state: State, deliveries: Delivery[]): void {
  state.held.push(...deliveries)
  if (state.flushTimer) return
  const done = new Promise<void>((resolve) => {
    state.flushDone = resolve
    state.flushTimer = setTimeout(() => {
      state.flushTimer = undefined
      const batch = shuffle(cloud, state.held)
      state.held = []
      deliver(cloud, batch)
      resolve()
    }, cloud.faults.reorderWindowMs)
  })
  void cloud.track(done)
}

function onStateChange(cloud: Cloud, state: State, change: InstanceStateChange): void {
  const event = ec2StateChangeEvent(cloud, change)
  const deliveries = deliveriesFor(cloud, state, event).flatMap((d) => (cloud.random() < cloud.faults.duplicateEventRate ? [d, d] : [d]))
  if (deliveries.length === 0) return
  if (cloud.faults.reorderWindowMs > 0) hold(cloud, state, deliveries)
  else deliver(cloud, deliveries)
}

export function createEvents(cloud: Cloud): ServiceModule {
  const state: State = { rules: new Map(), held: [] }
  const listener = (change: InstanceStateChange): void => onStateChange(cloud, state, change)
  cloud.bus.on('ec2-state-change', listener)
  const close = async (): Promise<void> => {
    cloud.bus.off('ec2-state-change', listener)
    if (state.flushTimer) clearTimeout(state.flushTimer)
    state.flushTimer = undefined
    state.flushDone?.()
  }
  onStop(cloud, () => void close())
  return {
    signingName: 'events',
    throttleCode: 'ThrottlingException',
    errors: EVENTS_ERRORS,
    serverErrorCode: 'InternalException',
    operation: (req) => targetOperation(req, 'AWSEvents'),
    async handle(operation, req) {
      const handler = HANDLERS[operation]
      if (!handler) throw eventsError('UnknownOperationException', `The emulator's EventBridge does not implement ${operation}`)
      return jsonRpcResponse(handler({ state, body: jsonRpcBody(req), req, cloud }))
    },
    error: (err) => jsonRpcError(err),
    state: () => [...state.rules.values()].map((r) => ({ name: r.name, region: r.region, arn: r.arn, state: r.state, eventPattern: r.eventPattern, targets: r.targets })),
    close
  }
}
