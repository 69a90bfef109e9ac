/**
 * Target groups (HTTP/HTTPS, target type instance), their attributes, targets and target health, and the
 * registration hooks Auto Scaling calls for a group's TargetGroupARNs.
 */
import type {
  CreateTargetGroupInput,
  DeleteTargetGroupInput,
  DeregisterTargetsInput,
  DescribeTargetGroupAttributesInput,
  DescribeTargetGroupsInput,
  DescribeTargetHealthInput,
  ModifyTargetGroupAttributesInput,
  ModifyTargetGroupInput,
  RegisterTargetsInput,
  TargetDescription,
  TargetGroup,
  TargetHealth,
  TargetHealthDescription
} from '@aws-sdk/client-elastic-load-balancing-v2'
import type { Cloud } from '../../types.js'
import { ec2World } from '../ec2/model.js'
import { elbError } from './errors.js'
import { newTags } from './load-balancers.js'
import {
  arnPrefix,
  elbDelayMs,
  elbState,
  resourceId,
  usesOfGroup,
  type HealthCheck,
  type TargetGroupRecord,
  type TargetRecord
} from './model.js'
import { page } from './paging.js'

const DEFAULT_ATTRIBUTES: Readonly<Record<string, string>> = {
  'deregistration_delay.timeout_seconds': '300',
  'stickiness.enabled': 'false',
  'stickiness.type': 'lb_cookie',
  'stickiness.lb_cookie.duration_seconds': '86400',
  'slow_start.duration_seconds': '0',
  'load_balancing.algorithm.type': 'round_robin'
}

/** Each attribute's allowed values (the API reference's TargetGroupAttribute). */
const ATTRIBUTE_VALUES: Readonly<Record<string, (v: string) => boolean>> = {
  'deregistration_delay.timeout_seconds': (v) => /^\d+$/.test(v) && Number(v) <= 3600,
  'stickiness.enabled': (v) => v === 'true' || v === 'false',
  'stickiness.type': (v) => v === 'lb_cookie' || v === 'app_cookie',
  'stickiness.lb_cookie.duration_seconds': (v) => /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 604800,
  'slow_start.duration_seconds': (v) => /^\d+$/.test(v) && (Number(v) === 0 || (Number(v) >= 30 && Number(v) <= 900)),
  'load_balancing.algorithm.type': (v) => ['round_robin', 'least_outstanding_requests', 'weighted_random'].includes(v)
}

function checkName(name: string | undefined): string {
  if (!name) throw elbError('ValidationError', 'A target group name must be specified')
  if (name.length > 32)
    throw elbError('ValidationError', `Target group name '${name}' cannot be longer than '32' characters`)
  if (!/^[a-zA-Z0-9-]+$/.test(name))
    throw elbError(
      'ValidationError',
      `Target group name '${name}' can only contain characters that are alphanumeric characters or hyphens(-)`
    )
  if (name.startsWith('-') || name.endsWith('-'))
    throw elbError('ValidationError', `Target group name '${name}' cannot begin or end with '-'`)
  return name
}

function inRange(what: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw elbError('ValidationError', `${what} must be between ${min} and ${max}, not ${value}`)
  return value
}

/** A Matcher HttpCode: codes 200..499, as a list (200,202) or a range (200-299). */
function checkHttpCode(code: string): string {
  const ok = code.split(',').every((part) => {
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(part.trim())
    if (!m) return false
    const lo = Number(m[1])
    const hi = Number(m[2] ?? m[1])
    return lo >= 200 && hi <= 499 && lo <= hi
  })
  if (!ok)
    throw elbError(
      'InvalidConfigurationRequest',
      `Health check matcher HTTP code '${code}' must be a value or a range between 200 and 499`
    )
  return code
}

type HealthInput = Pick<
  CreateTargetGroupInput,
  | 'HealthCheckProtocol'
  | 'HealthCheckPort'
  | 'HealthCheckEnabled'
  | 'HealthCheckPath'
  | 'HealthCheckIntervalSeconds'
  | 'HealthCheckTimeoutSeconds'
  | 'HealthyThresholdCount'
  | 'UnhealthyThresholdCount'
  | 'Matcher'
>

function healthCheckOf(input: HealthInput, base: HealthCheck): HealthCheck {
  const hc: HealthCheck = {
    protocol: input.HealthCheckProtocol ?? base.protocol,
    port: input.HealthCheckPort ?? base.port,
    path: input.HealthCheckPath ?? base.path,
    enabled: input.HealthCheckEnabled ?? base.enabled,
    intervalSeconds: inRange('Health check interval', input.HealthCheckIntervalSeconds ?? base.intervalSeconds, 5, 300),
    timeoutSeconds: inRange('Health check timeout', input.HealthCheckTimeoutSeconds ?? base.timeoutSeconds, 2, 120),
    healthyThreshold: inRange('Healthy threshold count', input.HealthyThresholdCount ?? base.healthyThreshold, 2, 10),
    unhealthyThreshold: inRange(
      'Unhealthy threshold count',
      input.UnhealthyThresholdCount ?? base.unhealthyThreshold,
      2,
      10
    ),
    httpCode: checkHttpCode(input.Matcher?.HttpCode ?? base.httpCode)
  }
  if (hc.protocol !== 'HTTP' && hc.protocol !== 'HTTPS')
    throw elbError(
      'ValidationError',
      `Health check protocol '${hc.protocol}' is not supported for an Application Load Balancer target group`
    )
  if (hc.port !== 'traffic-port' && !(/^\d+$/.test(hc.port) && Number(hc.port) >= 1 && Number(hc.port) <= 65535))
    throw elbError(
      'ValidationError',
      `Health check port '${hc.port}' must be 'traffic-port' or a port between 1 and 65535`
    )
  if (!hc.path.startsWith('/') || hc.path.length > 1024)
    throw elbError(
      'ValidationError',
      `Health check path '${hc.path}' must begin with '/' and be at most 1024 characters`
    )
  if (hc.timeoutSeconds >= hc.intervalSeconds)
    throw elbError(
      'ValidationError',
      `Health check timeout '${hc.timeoutSeconds}' must be smaller than the interval '${hc.intervalSeconds}'`
    )
  return hc
}

export function toTargetGroup(cloud: Cloud, tg: TargetGroupRecord): TargetGroup {
  const hc = tg.healthCheck
  return {
    TargetGroupArn: tg.arn,
    TargetGroupName: tg.name,
    Protocol: tg.protocol as TargetGroup['Protocol'],
    Port: tg.port,
    VpcId: tg.vpcId,
    HealthCheckProtocol: hc.protocol as TargetGroup['Protocol'],
    HealthCheckPort: hc.port,
    HealthCheckEnabled: hc.enabled,
    HealthCheckIntervalSeconds: hc.intervalSeconds,
    HealthCheckTimeoutSeconds: hc.timeoutSeconds,
    HealthyThresholdCount: hc.healthyThreshold,
    UnhealthyThresholdCount: hc.unhealthyThreshold,
    HealthCheckPath: hc.path,
    Matcher: { HttpCode: hc.httpCode },
    LoadBalancerArns: usesOfGroup(elbState(cloud), tg.arn).loadBalancers.map((lb) => lb.arn),
    TargetType: tg.targetType as TargetGroup['TargetType'],
    ProtocolVersion: tg.protocolVersion,
    IpAddressType: 'ipv4'
  }
}

function sameSettings(tg: TargetGroupRecord, other: TargetGroupRecord): boolean {
  return (
    tg.protocol === other.protocol &&
    tg.port === other.port &&
    tg.vpcId === other.vpcId &&
    tg.targetType === other.targetType &&
    JSON.stringify(tg.healthCheck) === JSON.stringify(other.healthCheck)
  )
}

export function createTargetGroup(cloud: Cloud, region: string, input: CreateTargetGroupInput): unknown {
  const name = checkName(input.Name)
  const targetType = input.TargetType ?? 'instance'
  if (targetType !== 'instance')
    throw elbError(
      'ValidationError',
      `The emulator serves target groups of target type 'instance' only, not '${targetType}'`
    )
  const protocol = input.Protocol
  if (protocol !== 'HTTP' && protocol !== 'HTTPS')
    throw elbError('ValidationError', 'A target group of an Application Load Balancer must have protocol HTTP or HTTPS')
  if (input.Port === undefined) throw elbError('ValidationError', 'A port must be specified')
  const port = inRange('Port', input.Port, 1, 65535)
  const world = ec2World(cloud)
  world.network.ensureRegion(region)
  const vpc = world.network.vpcs.get(input.VpcId ?? '')
  if (!input.VpcId) throw elbError('ValidationError', 'A VPC ID must be specified')
  if (!vpc || vpc.region !== region) throw elbError('ValidationError', `The VPC ID '${input.VpcId}' is not found`)
  const healthCheck = healthCheckOf(input, {
    protocol: 'HTTP',
    port: 'traffic-port',
    path: '/',
    enabled: true,
    intervalSeconds: 30,
    timeoutSeconds: 5,
    healthyThreshold: 5,
    unhealthyThreshold: 2,
    httpCode: '200'
  })
  const tg: TargetGroupRecord = {
    arn: '',
    name,
    region,
    protocol,
    protocolVersion: input.ProtocolVersion ?? 'HTTP1',
    port,
    vpcId: vpc.vpcId,
    targetType,
    healthCheck,
    attributes: { ...DEFAULT_ATTRIBUTES },
    tags: newTags(input.Tags),
    targets: new Map()
  }
  const state = elbState(cloud)
  const existing = [...state.targetGroups.values()].find((g) => g.region === region && g.name === name)
  if (existing) {
    if (sameSettings(existing, tg)) return { TargetGroups: [toTargetGroup(cloud, existing)] }
    throw elbError(
      'DuplicateTargetGroupName',
      `A target group with the same name '${name}' exists, but with different settings`
    )
  }
  tg.arn = `${arnPrefix(cloud, region)}targetgroup/${name}/${resourceId(cloud)}`
  state.targetGroups.set(tg.arn, tg)
  return { TargetGroups: [toTargetGroup(cloud, tg)] }
}

export function findTargetGroup(cloud: Cloud, region: string, arn: string | undefined): TargetGroupRecord {
  const tg = elbState(cloud).targetGroups.get(arn ?? '')
  if (!tg || tg.region !== region) throw elbError('TargetGroupNotFound', `Target groups '${arn ?? ''}' not found`)
  return tg
}

export function describeTargetGroups(cloud: Cloud, region: string, input: DescribeTargetGroupsInput): unknown {
  const state = elbState(cloud)
  let chosen = [...state.targetGroups.values()].filter((g) => g.region === region)
  const arns = input.TargetGroupArns ?? []
  const names = input.Names ?? []
  if (input.LoadBalancerArn) {
    if (!state.loadBalancers.has(input.LoadBalancerArn))
      throw elbError('LoadBalancerNotFound', `Load balancer '${input.LoadBalancerArn}' not found`)
    chosen = chosen.filter((g) =>
      usesOfGroup(state, g.arn).loadBalancers.some((lb) => lb.arn === input.LoadBalancerArn)
    )
  }
  if (arns.length > 0) {
    chosen = chosen.filter((g) => arns.includes(g.arn))
    if (chosen.length < new Set(arns).size) throw elbError('TargetGroupNotFound', 'One or more target groups not found')
  } else if (names.length > 0) {
    chosen = chosen.filter((g) => names.includes(g.name))
    if (chosen.length < new Set(names).size)
      throw elbError('TargetGroupNotFound', 'One or more target groups not found')
  }
  const { items, next } = page(chosen, input.Marker, input.PageSize)
  return { TargetGroups: items.map((g) => toTargetGroup(cloud, g)), NextMarker: next }
}

export function modifyTargetGroup(cloud: Cloud, region: string, input: ModifyTargetGroupInput): unknown {
  const tg = findTargetGroup(cloud, region, input.TargetGroupArn)
  tg.healthCheck = healthCheckOf(input, tg.healthCheck)
  return { TargetGroups: [toTargetGroup(cloud, tg)] }
}

function attributeList(tg: TargetGroupRecord): { Key: string; Value: string }[] {
  return Object.entries(tg.attributes).map(([Key, Value]) => ({ Key, Value }))
}

export function describeTargetGroupAttributes(
  cloud: Cloud,
  region: string,
  input: DescribeTargetGroupAttributesInput
): unknown {
  return { Attributes: attributeList(findTargetGroup(cloud, region, input.TargetGroupArn)) }
}

export function modifyTargetGroupAttributes(
  cloud: Cloud,
  region: string,
  input: ModifyTargetGroupAttributesInput
): unknown {
  const tg = findTargetGroup(cloud, region, input.TargetGroupArn)
  const next = { ...tg.attributes }
  for (const { Key: key = '', Value: value = '' } of input.Attributes ?? []) {
    const valid = ATTRIBUTE_VALUES[key]
    if (!valid) throw elbError('InvalidConfigurationRequest', `Target group attribute key '${key}' is not recognized`)
    if (!valid(value))
      throw elbError('InvalidConfigurationRequest', `Target group attribute value '${value}' is not valid for '${key}'`)
    next[key] = value
  }
  tg.attributes = next
  return { Attributes: attributeList(tg) }
}

/** Deleting a target group a listener or rule forwards to is refused; an unknown ARN succeeds. */
export function deleteTargetGroup(cloud: Cloud, region: string, input: DeleteTargetGroupInput): unknown {
  const state = elbState(cloud)
  const tg = state.targetGroups.get(input.TargetGroupArn ?? '')
  if (!tg || tg.region !== region) return {}
  const uses = usesOfGroup(state, tg.arn)
  if (uses.by.length > 0)
    throw elbError('ResourceInUse', `Target group '${tg.arn}' is currently in use by a listener or a rule`)
  state.targetGroups.delete(tg.arn)
  return {}
}

// ---- targets ----

const key = (id: string, port: number): string => `${id}:${port}`

/** Drops targets whose draining is over. */
function sweep(tg: TargetGroupRecord): void {
  const now = Date.now()
  for (const [k, t] of tg.targets) if (t.drainUntil !== undefined && now >= t.drainUntil) tg.targets.delete(k)
}

function register(tg: TargetGroupRecord, id: string, port: number): void {
  sweep(tg)
  const current = tg.targets.get(key(id, port))
  if (current && current.drainUntil === undefined) return
  tg.targets.set(key(id, port), { id, port, registeredAt: Date.now() })
}

function deregister(cloud: Cloud, tg: TargetGroupRecord, t: TargetRecord): void {
  if (t.drainUntil !== undefined) return
  const inUse = usesOfGroup(elbState(cloud), tg.arn).by.length > 0
  const delay = Number(tg.attributes['deregistration_delay.timeout_seconds'] ?? '300')
  if (!inUse || delay === 0) tg.targets.delete(key(t.id, t.port))
  else t.drainUntil = Date.now() + elbDelayMs(cloud, delay)
}

function targetsOf(tg: TargetGroupRecord, targets: TargetDescription[] | undefined): { id: string; port: number }[] {
  if (!targets || targets.length === 0) throw elbError('ValidationError', 'Targets must be specified')
  return targets.map((t) => {
    if (!t.Id) throw elbError('ValidationError', 'A target ID must be specified')
    return { id: t.Id, port: inRange('Port', t.Port ?? tg.port, 1, 65535) }
  })
}

export function registerTargets(cloud: Cloud, region: string, input: RegisterTargetsInput): unknown {
  const tg = findTargetGroup(cloud, region, input.TargetGroupArn)
  const targets = targetsOf(tg, input.Targets)
  const world = ec2World(cloud)
  const missing = targets.filter((t) => {
    const i = world.instances.get(t.id)
    return !i || i.region !== region || world.expired(i)
  })
  if (missing.length > 0)
    throw elbError(
      'InvalidTarget',
      `The following targets are not valid instances: ${missing.map((t) => `'${t.id}'`).join(', ')}`
    )
  const notRunning = targets.filter((t) => world.instances.get(t.id)?.state !== 'running')
  if (notRunning.length > 0)
    throw elbError(
      'InvalidTarget',
      `The following targets are not in a running state and cannot be registered: ${notRunning.map((t) => `'${t.id}'`).join(', ')}`
    )
  const elsewhere = targets.filter((t) => world.instances.get(t.id)?.vpcId !== tg.vpcId)
  if (elsewhere.length > 0)
    throw elbError(
      'InvalidTarget',
      `The following targets are not in the target group VPC '${tg.vpcId}': ${elsewhere.map((t) => `'${t.id}'`).join(', ')}`
    )
  if (new Set([...tg.targets.keys(), ...targets.map((t) => key(t.id, t.port))]).size > 1000)
    throw elbError('TooManyTargets', 'You have reached the limit on the number of targets per target group')
  for (const t of targets) register(tg, t.id, t.port)
  return {}
}

export function deregisterTargets(cloud: Cloud, region: string, input: DeregisterTargetsInput): unknown {
  const tg = findTargetGroup(cloud, region, input.TargetGroupArn)
  sweep(tg)
  const targets = targetsOf(tg, input.Targets)
  const unknown = targets.filter((t) => !tg.targets.has(key(t.id, t.port)))
  if (unknown.length > 0)
    throw elbError(
      'InvalidTarget',
      `The following targets are not registered in target group '${tg.arn}': ${unknown.map((t) => `'${t.id}'`).join(', ')}`
    )
  for (const t of targets) {
    const record = tg.targets.get(key(t.id, t.port))
    if (record) deregister(cloud, tg, record)
  }
  return {}
}

/**
 * Registers instances in a target group on behalf of Auto Scaling (a group's TargetGroupARNs), at the
 * group's port, without the running-state check a caller's RegisterTargets has. Throws
 * TargetGroupNotFound when the target group does not exist.
 */
export function registerGroupTargets(cloud: Cloud, targetGroupArn: string, instanceIds: string[]): void {
  const tg = elbState(cloud).targetGroups.get(targetGroupArn)
  if (!tg) throw elbError('TargetGroupNotFound', `Target groups '${targetGroupArn}' not found`)
  for (const id of instanceIds) register(tg, id, tg.port)
}

/** Deregisters instances (every port) on behalf of Auto Scaling: they drain for the deregistration delay. */
export function deregisterGroupTargets(cloud: Cloud, targetGroupArn: string, instanceIds: string[]): void {
  const tg = elbState(cloud).targetGroups.get(targetGroupArn)
  if (!tg) return
  sweep(tg)
  for (const t of [...tg.targets.values()]) if (instanceIds.includes(t.id)) deregister(cloud, tg, t)
}

function defaultHealth(cloud: Cloud, instanceId: string): 'healthy' | 'unhealthy' {
  return ec2World(cloud).instances.get(instanceId)?.state === 'running' ? 'healthy' : 'unhealthy'
}

/** A target's health as DescribeTargetHealth reports it, decided when asked. */
function healthOf(cloud: Cloud, tg: TargetGroupRecord, t: TargetRecord): TargetHealth {
  if (t.drainUntil !== undefined)
    return {
      State: 'draining',
      Reason: 'Target.DeregistrationInProgress',
      Description: 'Target deregistration is in progress'
    }
  const state = elbState(cloud)
  const uses = usesOfGroup(state, tg.arn)
  if (uses.by.length === 0)
    return {
      State: 'unused',
      Reason: 'Target.NotInUse',
      Description: 'Target group is not configured to receive traffic from the load balancer'
    }
  const instance = ec2World(cloud).instances.get(t.id)
  if (!instance || instance.state === 'terminated' || instance.state === 'shutting-down')
    return { State: 'unused', Reason: 'Target.InvalidState', Description: 'Target is in the terminated state' }
  if (!uses.loadBalancers.some((lb) => lb.subnets.some((s) => s.zone === instance.availabilityZone)))
    return {
      State: 'unused',
      Reason: 'Target.NotInUse',
      Description: 'Target is in an Availability Zone that is not enabled for the load balancer'
    }
  if (!tg.healthCheck.enabled)
    return { State: 'unavailable', Reason: 'Target.HealthCheckDisabled', Description: 'Health checks are disabled' }
  const start = Math.max(t.registeredAt, uses.since ?? t.registeredAt)
  const hc = tg.healthCheck
  const now = Date.now()
  if (now < start + elbDelayMs(cloud, hc.intervalSeconds))
    return { State: 'initial', Reason: 'Elb.RegistrationInProgress', Description: 'Target registration is in progress' }
  if (now < start + elbDelayMs(cloud, hc.intervalSeconds * hc.healthyThreshold))
    return { State: 'initial', Reason: 'Elb.InitialHealthChecking', Description: 'Initial health checks in progress' }
  const port = hc.port === 'traffic-port' ? t.port : Number(hc.port)
  const verdict = state.healthSource ? state.healthSource(t.id, port) : defaultHealth(cloud, t.id)
  if (verdict === 'healthy') return { State: 'healthy' }
  if (verdict === 'unknown') return { State: 'unhealthy', Reason: 'Target.Timeout', Description: 'Request timed out' }
  return { State: 'unhealthy', Reason: 'Target.FailedHealthChecks', Description: 'Health checks failed' }
}

export function describeTargetHealth(cloud: Cloud, region: string, input: DescribeTargetHealthInput): unknown {
  const tg = findTargetGroup(cloud, region, input.TargetGroupArn)
  sweep(tg)
  const healthPort = (t: { port: number }): string =>
    tg.healthCheck.port === 'traffic-port' ? String(t.port) : tg.healthCheck.port
  const describe = (t: TargetRecord): TargetHealthDescription => ({
    // AvailabilityZone is not supported for targets of type instance (TargetDescription)
    Target: { Id: t.id, Port: t.port },
    HealthCheckPort: healthPort(t),
    TargetHealth: healthOf(cloud, tg, t)
  })
  if (!input.Targets || input.Targets.length === 0)
    return { TargetHealthDescriptions: [...tg.targets.values()].map(describe) }
  const wanted = input.Targets.map((t) => ({ id: t.Id ?? '', port: t.Port }))
  const out: TargetHealthDescription[] = []
  for (const w of wanted) {
    const found = [...tg.targets.values()].filter((t) => t.id === w.id && (w.port === undefined || t.port === w.port))
    if (found.length > 0) out.push(...found.map(describe))
    else {
      const port = w.port ?? tg.port
      out.push({
        Target: { Id: w.id, Port: port },
        HealthCheckPort: healthPort({ port }),
        TargetHealth: {
          State: 'unused',
          Reason: 'Target.NotRegistered',
          Description: 'Target is not registered to the target group'
        }
      })
    }
  }
  return { TargetHealthDescriptions: out }
}

/**
 * The targets registered in a target group now (draining ones included) with their health state, as
 * DescribeTargetHealth would report them; empty when the target group does not exist. Auto Scaling
 * reads it for DescribeLoadBalancerTargetGroups' State.
 */
export function registeredTargetStates(
  cloud: Cloud,
  targetGroupArn: string
): { id: string; port: number; state: string }[] {
  const tg = elbState(cloud).targetGroups.get(targetGroupArn)
  if (!tg) return []
  sweep(tg)
  return [...tg.targets.values()].map((t) => ({ id: t.id, port: t.port, state: healthOf(cloud, tg, t).State ?? '' }))
}
