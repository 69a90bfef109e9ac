/**
 * The deploy engine's plain-data types: the desired state (built from the
 * compose model and inputs), the current state (read from AWS), and the plan
 * that turns one into the other, assembled from the kinds' own shapes
 * (resources/<kind>.ts). No SDK types here: the plan is pure data.
 */
import type { StackScope } from './names.js'
import type { Protocol } from './compose/model.js'
import type { CurrentAsg, DesiredAsg } from './resources/auto-scaling-group.js'
import type { CurrentTarget, DesiredTarget } from './resources/event-target.js'
import type { CurrentRule, DesiredRule } from './resources/event-rule.js'
import type { DesiredZone, CurrentZone } from './resources/hosted-zone.js'
import type { DesiredRole } from './resources/iam-role.js'
import type { KindChanges } from './resources/index.js'
import type { CurrentFunction, DesiredFunction } from './resources/lambda-function.js'
import type { CurrentDeadLetterQueue, DesiredDeadLetterQueue } from './resources/dead-letter-queue.js'
import type { CurrentQueue, DesiredQueue } from './resources/event-queue.js'
import type { CurrentMapping, DesiredMapping } from './resources/event-source-mapping.js'
import type { CurrentSchedule, DesiredSchedule } from './resources/schedule-rule.js'
import type { CurrentLaunchTemplate, DesiredLaunchTemplate } from './resources/launch-template.js'
import type { CurrentLogGroup, DesiredLogGroup } from './resources/log-group.js'
import type { CurrentRolePolicy, DesiredRolePolicy } from './resources/role-policy.js'
import type { CurrentSecurityGroup, DesiredSecurityGroup } from './resources/security-group.js'
import type { CurrentInstanceProfile, DesiredInstanceProfile } from './resources/instance-profile.js'
import type { CurrentInstanceRole, DesiredInstanceRole } from './resources/instance-role.js'
import type { CurrentConfig, DesiredConfig } from './resources/service-config.js'
import type { CurrentCertificate, DesiredCertificate } from './resources/certificate.js'
import type {
  CurrentLoadBalancerSecurityGroup,
  DesiredLoadBalancerSecurityGroup
} from './resources/load-balancer-security-group.js'
import type { CurrentLoadBalancer, DesiredLoadBalancer } from './resources/load-balancer.js'
import type { CurrentListener, DesiredListener } from './resources/listener.js'
import type { CurrentTargetGroup, DesiredTargetGroup } from './resources/target-group.js'
import type { CurrentListenerRule, DesiredListenerRule, ListenerRuleCount } from './resources/listener-rule.js'
import type { CurrentAliasRecord, DesiredAliasRecord } from './resources/alias-record.js'
import type { CurrentVolume, DesiredVolume } from './resources/volume.js'
import type { CurrentRepository, DesiredRepository } from './resources/ecr-repository.js'

export interface Network {
  vpcId: string
  vpcCidr: string
  subnetIds: string[]
  /** Each subnet's availability zone (a load balancer takes one subnet per zone, in two or more); read when needed. */
  subnetZones?: Record<string, string>
  /** The VPC resolver (names.vpcResolver). */
  resolver: string
}

/** The `domain` input's public hosted zone, found before any write. */
export interface PublicZone {
  id: string
  /** Without the trailing dot. */
  name: string
}

/** Where a rule's traffic may come from besides a CIDR: the project's load balancer (its security group). */
export const FROM_LOAD_BALANCER = 'load-balancer'

/** One ingress rule, flattened: a single port (range) from a single CIDR (or FROM_LOAD_BALANCER). */
export interface IngressRule {
  protocol: Protocol
  fromPort: number
  toPort: number
  cidr: string
}

// ---------------------------------------------------------------- desired

export interface DesiredProject {
  zone: DesiredZone
  role: DesiredRole
  rolePolicy: DesiredRolePolicy
  logGroup: DesiredLogGroup
  function: DesiredFunction
  rule: DesiredRule
  scheduleRule: DesiredSchedule
  deadLetterQueue: DesiredDeadLetterQueue
  queue: DesiredQueue
  /** The two rules' targets: the queue. */
  targets: DesiredTarget[]
  eventSourceMapping: DesiredMapping
}

/** With the `domain` input, when the stack has a public service: the front door every public service shares. */
export interface DesiredPublic {
  domain: string
  zone: PublicZone
  /** Project level: the load balancer, its security group and listeners, and the `*.<domain>` certificate. */
  certificate: DesiredCertificate
  securityGroup: DesiredLoadBalancerSecurityGroup
  loadBalancer: DesiredLoadBalancer
  listeners: DesiredListener[]
  /** Stack level: `*.<stack>.<domain>`. */
  stackCertificate: DesiredCertificate
}

/** One published port of a public service behind the load balancer. */
export interface DesiredEndpoint {
  port: number
  /** `<service>.<stack>.<domain>` (or `<service>-<port>...` when it publishes several). */
  host: string
  url: string
  targetGroup: DesiredTargetGroup
  rule: DesiredListenerRule
  alias: DesiredAliasRecord
}

export interface DesiredService {
  name: string
  /** deploy.public: its published ports are reached from the internet (through the load balancer with a domain). */
  public: boolean
  /** With a domain: one per published TCP port. */
  endpoints: DesiredEndpoint[]
  image: string
  recordName: string
  instanceRole: DesiredInstanceRole
  instanceProfile: DesiredInstanceProfile
  /** What the plan shows of the agent's configuration (its hash). */
  config: DesiredConfig
  /** The configuration itself (agent/config.ts JSON): secrets-grade, never in a plan, log or output. */
  configValue: string
  securityGroup: DesiredSecurityGroup
  launchTemplate: DesiredLaunchTemplate
  asgs: DesiredAsg[]
  /** One per replica slot and named volume it mounts (none without volumes). */
  volumes: DesiredVolume[]
  /** With volumes: the one zone its volumes and instances are in. */
  zone?: string
}

export interface DesiredState {
  scope: StackScope
  network: Network
  project: DesiredProject
  /** The stack's container logs. */
  containerLogGroup: DesiredLogGroup
  /** Sorted by name. */
  services: DesiredService[]
  /** The load balancer's part, when there is a domain and a public service. */
  public?: DesiredPublic
  /** The image repositories of the services the compose file builds. */
  repositories?: DesiredRepository[]
}

// ---------------------------------------------------------------- current

export interface CurrentRecord {
  name: string
  type: string
  ttl?: number
  values: string[]
}

export interface CurrentInstance {
  id: string
  service: string
  capacity?: string
  state: string
  privateIp?: string
  /** Public services without a domain are reached at it. */
  publicIp?: string
  /** EC2 warned that it goes (tag hyperform:leaving, set by the DNS updater): no record lists it again. */
  leaving?: boolean
  /** Its pool (type and zone): what a spot instance costs. */
  instanceType?: string
  zone?: string
}

export interface CurrentState {
  scope: StackScope
  /** From any ARN read; undefined on a fresh account/region. */
  accountId?: string
  /** The partition of the ARNs read (`aws`, `aws-cn`, `aws-iso`...); undefined on a fresh account/region. */
  partition?: string
  zone?: CurrentZone
  rolePolicy?: CurrentRolePolicy
  logGroup?: CurrentLogGroup
  function?: CurrentFunction
  rule?: CurrentRule
  scheduleRule?: CurrentSchedule
  queue?: CurrentQueue
  deadLetterQueue?: CurrentDeadLetterQueue
  eventSourceMapping?: CurrentMapping
  /** The targets of both rules. */
  targets: CurrentTarget[]
  containerLogGroup?: CurrentLogGroup
  /** The next three are read only to verify (ReadContext.verify); otherwise the templates' tags say. */
  instanceRoles?: CurrentInstanceRole[]
  instanceProfiles?: CurrentInstanceProfile[]
  configs?: CurrentConfig[]
  securityGroups: CurrentSecurityGroup[]
  launchTemplates: CurrentLaunchTemplate[]
  asgs: CurrentAsg[]
  /** The stack's records (names without the trailing dot); empty unless read (ReadOptions.records). */
  records: CurrentRecord[]
  /** Whether `records` was read. */
  recordsRead?: boolean
  /** The zone's SOA record, read with the records. */
  soa?: CurrentRecord
  /** Only read when asked (destroy, wait, drift). */
  instances?: CurrentInstance[]
  /** Only read for destroy: whether ASGs of another stack of the project exist. */
  otherStacks?: string[]
  /** The public endpoints' resources (read when there is a domain, or for destroy). */
  certificate?: CurrentCertificate
  stackCertificate?: CurrentCertificate
  loadBalancerSecurityGroup?: CurrentLoadBalancerSecurityGroup
  loadBalancer?: CurrentLoadBalancer
  listeners?: CurrentListener[]
  targetGroups?: CurrentTargetGroup[]
  listenerRules?: CurrentListenerRule[]
  /** The HTTPS listener's rules of other stacks (they count toward its quota). */
  listenerRuleCount?: ListenerRuleCount
  aliasRecords?: CurrentAliasRecord[]
  /** The stack's volumes (read when a service mounts one, to verify, and for destroy). */
  volumes?: CurrentVolume[]
  /** The project's image repositories (read when the compose file builds). */
  repositories?: CurrentRepository[]
}

// ---------------------------------------------------------------- plan

/** The kinds the registry lists (resources/index.ts, KindChanges). */
export type ResourceKind = keyof KindChanges

export type ChangeAction = 'create' | 'update' | 'replace' | 'delete' | 'noop'

/** One change of the plan: each kind's module defines its variants (resources/<kind>.ts). */
export type Change = KindChanges[ResourceKind]

export interface Plan {
  changes: Change[]
  /** The stack the plan is for (apply needs it for deletes and polls). */
  scope?: StackScope
}

/** One thing apply did. */
export interface AppliedChange {
  kind: ResourceKind
  action: ChangeAction
  name: string
  service?: string
  /** The id AWS gave a created resource (zone id, group id, template id, ARN). */
  id?: string
}

export interface ApplyResult {
  applied: AppliedChange[]
  /** Write API calls made (creates, updates, deletes, tags). */
  writes: number
  /** Read API calls apply made itself (re-reads, polls). */
  reads: number
}

/** A service whose rollout failed: what the error, the job summary and the preview comment say of it. */
export interface ServiceFailure {
  service: string
  /** The version that failed: its image. */
  version: string
  /** The instance the agent abandoned, and when it logged that (ms). */
  instance?: string
  abandonedAt?: number
  /** What happened: `pull failed: ...`, `container exited with code 1`, `unhealthy: ...`, or the refresh's reason. */
  reason: string
  /** The container's last log lines, secrets masked (oldest first). */
  lines: string[]
  /** What serves now: the previous version after the rollback, or nothing for a first deploy. */
  outcome: string
}

/** A spot group that lacked capacity during the wait, as its scaling activities said. */
export interface SpotShortage {
  service: string
  /** The spot group. */
  group: string
  /** Instances it could not launch. */
  missing: number
  /** How long it had been short when the wait read its activities (s). */
  seconds: number
  /** The scaling activity's words. */
  message: string
  /** spot-fallback: on-demand moved them to the on-demand group. */
  onDemand: boolean
  onDemandGroup?: string
}

export interface WaitResult {
  ready: boolean
  timedOut: boolean
  /** Spot groups that lacked capacity (reported; moved on demand with spot-fallback: on-demand). */
  spot?: SpotShortage[]
  /** Services whose rollout failed (the wait ended early for them). */
  failures: ServiceFailure[]
  services: Array<{
    service: string
    /** Desired instances (replicas). */
    desired: number
    /** Instances in service in their groups (the container healthy), running, on the version rolled to. */
    running: number
    /** The record's values. */
    recordValues: string[]
    /** The private IPs of the instances in service (what the record must list). */
    instanceIps: string[]
    /** The public IPs of the instances in service (a public service without a domain is reached there). */
    publicIps: string[]
    /** Behind the load balancer: the instances in service that are healthy targets (of its least healthy group). */
    healthyTargets?: number
    /** Why a target is not healthy, as the load balancer says. */
    targetReason?: string
    ready: boolean
  }>
}
