/**
 * Elastic Load Balancing v2's state (Application Load Balancers): load balancers, target groups with their
 * targets, listeners and their rules, per region of one cloud. Route 53 (alias targets) and ACM (the
 * listeners that use a certificate) read it through elbState().
 */
import type { Action, RuleCondition } from '@aws-sdk/client-elastic-load-balancing-v2'
import type { Cloud } from '../../types.js'
import { newId } from '../../core/ids.js'

export type Tags = Map<string, string>

export interface LoadBalancerRecord {
  arn: string
  name: string
  region: string
  scheme: 'internet-facing' | 'internal'
  vpcId: string
  subnets: { subnetId: string; zone: string }[]
  securityGroups: string[]
  ipAddressType: string
  dnsName: string
  canonicalHostedZoneId: string
  createdAt: number
  /** provisioning until then, active after. */
  activeAt: number
  attributes: Record<string, string>
  tags: Tags
}

export interface TargetRecord {
  id: string
  port: number
  registeredAt: number
  /** Set by DeregisterTargets: draining until this time, then gone. */
  drainUntil?: number
}

export interface HealthCheck {
  protocol: string
  port: string
  path: string
  enabled: boolean
  intervalSeconds: number
  timeoutSeconds: number
  healthyThreshold: number
  unhealthyThreshold: number
  httpCode: string
}

export interface TargetGroupRecord {
  arn: string
  name: string
  region: string
  protocol: string
  protocolVersion: string
  port: number
  vpcId: string
  targetType: string
  healthCheck: HealthCheck
  attributes: Record<string, string>
  tags: Tags
  /** Keyed by `<id>:<port>`. */
  targets: Map<string, TargetRecord>
}

export interface ListenerRecord {
  arn: string
  loadBalancerArn: string
  region: string
  port: number
  protocol: string
  certificates: string[]
  /** AddListenerCertificates: the certificates served besides the default (by SNI). */
  extraCertificates?: string[]
  sslPolicy?: string
  defaultActions: Action[]
  defaultRuleArn: string
  createdAt: number
  tags: Tags
}

export interface RuleRecord {
  arn: string
  listenerArn: string
  region: string
  priority: number
  conditions: RuleCondition[]
  actions: Action[]
  createdAt: number
  tags: Tags
}

/** What decides a registered target's health: the load balancer's health checks, in the emulator a function. */
export type TargetHealthSource = (instanceId: string, port: number) => 'healthy' | 'unhealthy' | 'unknown'

export interface ElbState {
  loadBalancers: Map<string, LoadBalancerRecord>
  targetGroups: Map<string, TargetGroupRecord>
  listeners: Map<string, ListenerRecord>
  rules: Map<string, RuleRecord>
  healthSource?: TargetHealthSource
}

const states = new WeakMap<Cloud, ElbState>()

export function elbState(cloud: Cloud): ElbState {
  let state = states.get(cloud)
  if (!state) {
    state = { loadBalancers: new Map(), targetGroups: new Map(), listeners: new Map(), rules: new Map() }
    states.set(cloud, state)
  }
  return state
}

/**
 * Replaces how registered targets' health is decided (default: healthy while the EC2 instance runs).
 * The function is asked at each DescribeTargetHealth once a target is past its initial health checks.
 */
export function setTargetHealthSource(cloud: Cloud, source: TargetHealthSource | undefined): void {
  elbState(cloud).healthSource = source
}

/** A simulated ELB duration in ms: `seconds` of AWS time times simulation.elbTimeScale (default 1/100). */
export function elbDelayMs(cloud: Cloud, seconds: number): number {
  return seconds * 1000 * (cloud.simulation.elbTimeScale ?? 0.01)
}

/**
 * The hosted zone id of Application Load Balancers per region (the Elastic Load Balancing endpoints
 * table of the AWS General Reference, the column for Application and Classic Load Balancers).
 */
export const ALB_HOSTED_ZONE_IDS: Readonly<Record<string, string>> = {
  'us-east-1': 'Z35SXDOTRQ7X7K',
  'us-east-2': 'Z3AADJGX6KTTL2',
  'us-west-1': 'Z368ELLRRE2KJ0',
  'us-west-2': 'Z1H1FL5HABSF5',
  'af-south-1': 'Z268VQBMOI5EKX',
  'ap-east-1': 'Z3DQVH9N71FHZ0',
  'ap-south-1': 'ZP97RAFLXTNZK',
  'ap-northeast-1': 'Z14GRHDCWA56QT',
  'ap-northeast-2': 'ZWKZPGTI48KDX',
  'ap-northeast-3': 'Z5LXEXXYW11ES',
  'ap-southeast-1': 'Z1LMS91P8CMLE5',
  'ap-southeast-2': 'Z1GM3OXH4ZPM65',
  'ca-central-1': 'ZQSVJUPU6J1EY',
  'eu-central-1': 'Z215JYRZR1TBD5',
  'eu-west-1': 'Z32O12XQLNTSW2',
  'eu-west-2': 'ZHURV8PSTC4K8',
  'eu-west-3': 'Z3Q77PNBQS71R4',
  'eu-south-1': 'Z3ULH7SSC9OV64',
  'me-south-1': 'ZS929ML54UICD',
  'sa-east-1': 'Z2P70J7HTTTPLU'
}

/** The canonical hosted zone id of the region's load balancers (a made-up stable one for regions the table lacks). */
export function canonicalHostedZoneId(region: string): string {
  const known = ALB_HOSTED_ZONE_IDS[region]
  if (known) return known
  let hash = 0
  for (const c of region) hash = (hash * 31 + c.charCodeAt(0)) >>> 0
  return `ZEMU${hash.toString(36).toUpperCase()}`
}

/** The region whose load balancers have this canonical hosted zone id, if any. */
export function regionOfHostedZoneId(zoneId: string): string | undefined {
  return Object.entries(ALB_HOSTED_ZONE_IDS).find(([, id]) => id === zoneId)?.[0]
}

/** A load balancer found by its DNS name (as Route 53 alias targets name it, optionally `dualstack.`). */
export function loadBalancerByDnsName(cloud: Cloud, dnsName: string): LoadBalancerRecord | undefined {
  const name = dnsName
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/^dualstack\./, '')
  return [...elbState(cloud).loadBalancers.values()].find((lb) => lb.dnsName.toLowerCase() === name)
}

/** The ARNs of the listeners that use a certificate (ACM's InUseBy names their load balancers). */
export function listenersUsingCertificate(cloud: Cloud, certificateArn: string): ListenerRecord[] {
  return [...elbState(cloud).listeners.values()].filter(
    (l) => l.certificates.includes(certificateArn) || (l.extraCertificates ?? []).includes(certificateArn)
  )
}

/** The target group ARNs an action list forwards to. */
export function forwardedGroups(actions: Action[]): string[] {
  const arns = actions.flatMap((a) => [
    ...(a.TargetGroupArn ? [a.TargetGroupArn] : []),
    ...(a.ForwardConfig?.TargetGroups ?? []).map((t) => t.TargetGroupArn ?? '')
  ])
  return [...new Set(arns.filter((a) => a !== ''))]
}

/** The listeners and rules that forward to a target group, with the load balancers they belong to. */
export function usesOfGroup(
  state: ElbState,
  targetGroupArn: string
): { loadBalancers: LoadBalancerRecord[]; since?: number; by: string[] } {
  const lbs = new Map<string, LoadBalancerRecord>()
  const by: string[] = []
  let since: number | undefined
  const note = (arn: string, lbArn: string, at: number): void => {
    by.push(arn)
    const lb = state.loadBalancers.get(lbArn)
    if (lb) lbs.set(lb.arn, lb)
    since = since === undefined ? at : Math.min(since, at)
  }
  for (const l of state.listeners.values())
    if (forwardedGroups(l.defaultActions).includes(targetGroupArn)) note(l.arn, l.loadBalancerArn, l.createdAt)
  for (const r of state.rules.values()) {
    const listener = state.listeners.get(r.listenerArn)
    if (listener && forwardedGroups(r.actions).includes(targetGroupArn))
      note(r.arn, listener.loadBalancerArn, r.createdAt)
  }
  return { loadBalancers: [...lbs.values()], since, by }
}

export function arnPrefix(cloud: Cloud, region: string): string {
  return `arn:aws:elasticloadbalancing:${region}:${cloud.accountId}:`
}

export function resourceId(cloud: Cloud): string {
  return newId(cloud, '', 16)
}

/** The `app/<name>/<id>` part of a load balancer ARN. */
export function loadBalancerPath(lbArn: string): string {
  return lbArn.replace(/^.*:loadbalancer\//, '')
}

export function tagList(tags: Tags): { Key: string; Value: string }[] {
  return [...tags].map(([Key, Value]) => ({ Key, Value }))
}
