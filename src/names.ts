/**
 * Every AWS name and tag the action and the DNS updater use. Pure: no I/O.
 *
 * For project `prj-demo`, stack `st-wordpress`, region `us-east-1`, service `db`:
 *   zone      prj-demo.us-east-1.internal
 *   record    db.st-wordpress.prj-demo.us-east-1.internal
 *   function  update_r53_record-prj-demo
 */
import { createHash } from 'node:crypto'

export const TAG_PREFIX = 'hyperform:'
export const TAGS = {
  project: `${TAG_PREFIX}project`,
  stack: `${TAG_PREFIX}stack`,
  service: `${TAG_PREFIX}service`,
  capacity: `${TAG_PREFIX}capacity`,
  managedBy: `${TAG_PREFIX}managed-by`,
  /** On a security group, launch template or group: a hash of what the action last wrote, so a no-op run reads no versions. */
  configHash: `${TAG_PREFIX}config-hash`,
  /** On a launch template: the image and instance type of its default version, so a plan can say what changed. */
  image: `${TAG_PREFIX}image`,
  instanceType: `${TAG_PREFIX}instance-type`,
  /** On a launch template: the version the action last made its default (a default set by hand is drift). */
  version: `${TAG_PREFIX}version`,
  /** On a launch template: `<hash>@<version>` of the configuration its instances read, written after it. */
  configuration: `${TAG_PREFIX}configuration`,
  /** On a launch template: the hash of its instance role's policy, written after the role and profile. */
  rolePolicy: `${TAG_PREFIX}role-policy`,
  /** On a group: `<hook>/<heartbeat timeout s>` of its launch lifecycle hook, written after it. */
  launchHook: `${TAG_PREFIX}launch-hook`,
  /**
   * On an instance: the warning (`interruption-warning` or `rebalance-recommendation`), written by the DNS
   * updater when EC2 warns that the instance goes: no record lists it again.
   */
  leaving: `${TAG_PREFIX}leaving`,
  /** On an EBS volume: the compose volume's name. */
  volume: `${TAG_PREFIX}volume`,
  /** On an EBS volume: its replica slot (0, 1, ...): one volume per slot and compose volume. */
  slot: `${TAG_PREFIX}slot`,
  /** On a launch template of a service the action builds: the hashes of its build's parts (what a plan says changed). */
  build: `${TAG_PREFIX}build`
} as const
export const MANAGED_BY = 'hyperform-action'

/**
 * On a service's two groups: how many of its spot instances the deploy's wait moved to its on-demand
 * group for lack of spot capacity (spot-fallback: on-demand); the next deploy restores the split. Apart
 * from TAGS, which the DNS updater's code bundles, and a plain string (TAG_PREFIX + 'spot-fallback') that
 * its bundle drops: the DNS updater's code does not change for it.
 */
export const SPOT_FALLBACK_TAG = 'hyperform:spot-fallback'

/** The service records' TTL, seconds, unless the dns-ttl input says otherwise: short, since instances come and go. */
export const DEFAULT_RECORD_TTL = 10

export const FUNCTION_PREFIX = 'update_r53_record-'
export const LIMITS = {
  label: 63,
  fqdn: 253,
  functionName: 64,
  /** A Lambda name is at most 64 characters, so the project name is at most 64 - 18. */
  project: 64 - FUNCTION_PREFIX.length,
  roleName: 64,
  launchTemplateName: 128,
  asgName: 255,
  securityGroupName: 255,
  ruleName: 64
} as const

const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/

export type Capacity = 'on-demand' | 'spot'
export const CAPACITIES: readonly Capacity[] = ['on-demand', 'spot']

/** Why `value` is not a DNS label of at most `max` characters, or undefined when it is one. */
export function labelProblem(value: string, max: number = LIMITS.label): string | undefined {
  if (value.length === 0) return 'must not be empty'
  if (value.length > max) return `is ${value.length} characters; the limit is ${max}`
  if (!LABEL.test(value)) {
    return 'must be a DNS label: lowercase letters, digits and hyphens, starting and ending with a letter or digit'
  }
  return undefined
}

export function regionProblem(region: string): string | undefined {
  return REGION.test(region) ? undefined : 'is not an AWS region name such as us-east-1'
}

/** A repository or branch name made into a DNS label (lowercase, hyphens, at most 63). */
export function sanitizeLabel(value: string): string {
  const cleaned = value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+/, '')
  return cleaned.slice(0, LIMITS.label).replace(/-+$/, '')
}

/** Short stable hash used where a readable name would exceed an AWS limit. */
export function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 8)
}

/** `name` if it fits in `max`, else its head and a hash of the whole, still unique and stable. */
export function fit(name: string, max: number): string {
  if (name.length <= max) return name
  const hash = shortHash(name)
  return `${name.slice(0, max - hash.length - 1).replace(/[-_.]+$/, '')}-${hash}`
}

export interface ProjectScope {
  project: string
  region: string
}

export interface StackScope extends ProjectScope {
  stack: string
}

export function zoneName(p: ProjectScope): string {
  return `${p.project}.${p.region}.internal`
}

/** The stack's own domain, first in the container's DNS search list. */
export function stackDomain(s: StackScope): string {
  return `${s.stack}.${zoneName(s)}`
}

export function recordName(s: StackScope, service: string): string {
  return `${service}.${stackDomain(s)}`
}

/** The resolv.conf search list: stack domain, then project domain. */
export function dnsSearch(s: StackScope): string[] {
  return [stackDomain(s), zoneName(s)]
}

/** The VPC resolver: base of the VPC CIDR + 2. */
export function vpcResolver(vpcCidr: string): string {
  const [base] = vpcCidr.split('/')
  const parts = (base ?? '').split('.').map(Number)
  if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) {
    throw new Error(`"${vpcCidr}" is not an IPv4 CIDR`)
  }
  const value = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0
  const resolver = value + 2
  return [resolver >>> 24, (resolver >>> 16) & 255, (resolver >>> 8) & 255, resolver & 255].join('.')
}

export function functionName(p: ProjectScope): string {
  return `${FUNCTION_PREFIX}${p.project}`
}

export function logGroupName(p: ProjectScope): string {
  return `/aws/lambda/${functionName(p)}`
}

/** IAM is global, so the role name carries the region too. */
export function roleName(p: ProjectScope): string {
  return fit(`hyperform-dns-${p.project}-${p.region}`, LIMITS.roleName)
}

export const ROLE_POLICY_NAME = 'update-r53-record'
/** The rule has the function's name: one rule per project and region. */
export function ruleName(p: ProjectScope): string {
  return functionName(p)
}
export const RULE_TARGET_ID = 'update-r53-record'

/** The queue EventBridge fills with the project's events, drained by the DNS updater in batches. */
export function queueName(p: ProjectScope): string {
  return functionName(p)
}

/** Where events the DNS updater keeps failing on end up (the drift check reports them). */
export function deadLetterQueueName(p: ProjectScope): string {
  return `${functionName(p)}-dead`
}

/** The schedule that reconciles every record of the project (a rule name is at most 64 characters). */
export function scheduleRuleName(p: ProjectScope): string {
  return fit(`${functionName(p)}-reconcile`, LIMITS.ruleName)
}
export const PERMISSION_STATEMENT_ID = 'hyperform-events-invoke'

function serviceBase(s: StackScope, service: string): string {
  return `hyperform-${s.project}-${s.stack}-${service}`
}

export function securityGroupName(s: StackScope, service: string): string {
  return fit(serviceBase(s, service), LIMITS.securityGroupName)
}

export function launchTemplateName(s: StackScope, service: string): string {
  return fit(serviceBase(s, service), LIMITS.launchTemplateName)
}

export function asgName(s: StackScope, service: string, capacity: Capacity): string {
  return fit(`${serviceBase(s, service)}-${capacity}`, LIMITS.asgName)
}

/** Tags on every per-service resource and, propagated at launch, on its instances. */
export function serviceTags(s: StackScope, service: string): Record<string, string> {
  return {
    [TAGS.project]: s.project,
    [TAGS.stack]: s.stack,
    [TAGS.service]: service,
    [TAGS.managedBy]: MANAGED_BY
  }
}

/** Tags on project-level resources (zone, role, function, log group, rule). */
export function projectTags(p: ProjectScope): Record<string, string> {
  return { [TAGS.project]: p.project, [TAGS.managedBy]: MANAGED_BY }
}

/** Checks the scope against DNS and AWS limits; returns one message per problem. */
export function scopeProblems(s: StackScope, services: readonly string[] = []): string[] {
  const problems: string[] = []
  const project = labelProblem(s.project, LIMITS.project)
  if (project)
    problems.push(
      `project "${s.project}" ${project} (the Lambda name ${FUNCTION_PREFIX}<project> is at most ${LIMITS.functionName})`
    )
  const stack = labelProblem(s.stack)
  if (stack) problems.push(`stack "${s.stack}" ${stack}`)
  const region = regionProblem(s.region)
  if (region) problems.push(`region "${s.region}" ${region}`)
  for (const service of services) {
    const fqdn = recordName(s, service)
    if (fqdn.length > LIMITS.fqdn) {
      problems.push(
        `service "${service}": the DNS name ${fqdn} is ${fqdn.length} characters; the limit is ${LIMITS.fqdn}`
      )
    }
  }
  return problems
}

/** IAM path of a stack's instance roles and profiles (IAM is global, so the region is in it): one ListRoles reads them. */
export function instancePath(s: StackScope): string {
  return `/hyperform/${s.project}/${s.region}/${s.stack}/`
}

/** A service's instance role, and its instance profile (same name). */
export function instanceRoleName(s: StackScope, service: string): string {
  return fit(`hyperform-${s.project}-${s.stack}-${service}-${s.region}`, LIMITS.roleName)
}

/** The SSM path holding a stack's service configurations. */
export function configPath(s: StackScope): string {
  return `/hyperform/${s.project}/${s.stack}`
}

/** A service's configuration for the instance agent: an SSM SecureString (agent/config.ts). */
export function configParameterName(s: StackScope, service: string): string {
  return `${configPath(s)}/${service}/config`
}

/** The stack's container logs: one stream per instance and service, `<service>/<instance-id>`. */
export function containerLogGroupName(s: StackScope): string {
  return `/hyperform/${s.project}/${s.stack}`
}

/** The launch lifecycle hook of every group: the agent completes it once the container is healthy. */
export const LAUNCH_HOOK = 'hyperform-launch'

/**
 * How the agent's own lines start in a container's stream (`<service>/<instance-id>`), e.g.
 * `hyperform-agent: abandon: pull denied: ...`; the action searches the stack's log group for them.
 */
export const AGENT_MARK = 'hyperform-agent:'

/**
 * The DNS updater's line for each spot signal of one of the project's instances: one JSON object, alone on
 * its line of the function's log group `/aws/lambda/<function>` (its console output), as JSON.stringify
 * writes it, keys in this order:
 *
 *   {"event":"spot-interruption-warning","instance":"i-0abc","service":"web","stack":"prod","project":"shop","at":"2026-01-01T00:00:00Z"}
 *
 * - `event`: `spot-interruption-warning` (EventBridge `EC2 Spot Instance Interruption Warning`: the reclaim is
 *   two minutes away), `rebalance-recommendation` (`EC2 Instance Rebalance Recommendation`), or `spot-reclaim`
 *   (the instance's `shutting-down` state change when EC2 reclaimed it: DescribeInstances StateReason
 *   `Server.SpotInstanceTermination`, or, while the read shows no reason yet, its hyperform:leaving tag from an
 *   interruption warning). One reclaim, one line: its `terminated` change logs none.
 * - `instance`, `service`, `stack`, `project`: the instance and its tags.
 * - `at`: the event's time (EventBridge `time`, ISO 8601 to the second), null when the event carried none.
 *
 * At least once per event: a message SQS delivers again (its batch failed) logs its line again, so a reader
 * counts distinct (event, instance, at). SPOT_EVENT_FILTER is a FilterLogEvents pattern that finds them (and
 * a few other lines that name a rebalance recommendation: parse each with parseSpotEventLine).
 */
export const SPOT_EVENTS = ['spot-interruption-warning', 'rebalance-recommendation', 'spot-reclaim'] as const
export type SpotEventName = (typeof SPOT_EVENTS)[number]
export interface SpotEventLine {
  event: SpotEventName
  instance: string
  service: string
  stack: string
  project: string
  at: string | null
}
export const SPOT_EVENT_FILTER = '?"spot-interruption-warning" ?"rebalance-recommendation" ?"spot-reclaim"'

/** The spot line a log message holds, or undefined when it is none (another line of the updater, say). */
export function parseSpotEventLine(message: string): SpotEventLine | undefined {
  let value: unknown
  try {
    value = JSON.parse(message)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const v = value as Record<string, unknown>
  const text = (key: string): boolean => typeof v[key] === 'string'
  if (!SPOT_EVENTS.includes(v.event as SpotEventName)) return undefined
  if (!text('instance') || !text('service') || !text('stack') || !text('project')) return undefined
  if (v.at !== null && !text('at')) return undefined
  return {
    event: v.event as SpotEventName,
    instance: v.instance as string,
    service: v.service as string,
    stack: v.stack as string,
    project: v.project as string,
    at: v.at as string | null
  }
}

/** Elastic Load Balancing names (load balancers, target groups): at most 32 letters, digits and hyphens. */
export const ELB_NAME_LIMIT = 32

/** The project's one Application Load Balancer in a region (shared by every stack), and its security group. */
export function loadBalancerName(p: ProjectScope): string {
  return fit(`hyperform-${p.project}`, ELB_NAME_LIMIT)
}

export function loadBalancerSecurityGroupName(p: ProjectScope): string {
  return fit(`hyperform-${p.project}-load-balancer`, LIMITS.securityGroupName)
}

/** A public service's target group for one published port (names are unique per account and region). */
export function targetGroupName(s: StackScope, service: string, port: number): string {
  return fit(`${s.project}-${s.stack}-${service}-${port}`, ELB_NAME_LIMIT)
}

/**
 * A public service's host under the domain: `<service>.<stack>.<domain>`, or `<service>-<port>.<stack>.<domain>`
 * when it publishes several ports. A wildcard certificate covers one label, so each stack has its own
 * `*.<stack>.<domain>` certificate besides the project's `*.<domain>`.
 */
export function publicHost(s: StackScope, domain: string, service: string, port?: number): string {
  return `${port === undefined ? service : `${service}-${port}`}.${s.stack}.${domain}`
}

/** Why a public host breaks DNS limits (a label over 63, the name over 253), or undefined. */
export function hostProblem(host: string): string | undefined {
  const long = host.split('.').find((label) => label.length > LIMITS.label)
  if (long)
    return `the public host ${host}: its label "${long}" is ${long.length} characters; the limit is ${LIMITS.label}`
  if (host.length > LIMITS.fqdn)
    return `the public host ${host} is ${host.length} characters; the limit is ${LIMITS.fqdn}`
  return undefined
}

/** Tags on stack-level resources (the stack's certificate, its container log group). */
export function stackTags(s: StackScope): Record<string, string> {
  return { [TAGS.project]: s.project, [TAGS.stack]: s.stack, [TAGS.managedBy]: MANAGED_BY }
}
