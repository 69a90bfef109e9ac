/**
 * The deploy engine's plain-data types: the desired state (built from the
 * compose model and inputs), the current state (read from AWS), and the plan
 * that turns one into the other. No SDK types here: the plan is pure data.
 */
import type { Capacity, StackScope } from './names.js'
import type { Protocol } from './compose/model.js'

export interface Network {
  vpcId: string
  vpcCidr: string
  subnetIds: string[]
  /** The VPC resolver (names.vpcResolver). */
  resolver: string
}

/** One ingress rule, flattened: a single port (range) from a single CIDR. */
export interface IngressRule {
  protocol: Protocol
  fromPort: number
  toPort: number
  cidr: string
}

// ---------------------------------------------------------------- desired

export interface DesiredZone {
  name: string
  vpcId: string
  region: string
  /** Deterministic CallerReference base; a generation suffix is added (see apply). */
  callerReference: string
}

export interface DesiredRole {
  name: string
  /** Canonical JSON. */
  assumeRolePolicy: string
  tags: Record<string, string>
}

export interface DesiredRolePolicy {
  roleName: string
  policyName: string
  /** Inputs of the policy document; the zone id is only known once the zone exists. */
  partition: string
  region: string
  logGroupName: string
}

export interface DesiredLogGroup {
  name: string
  retentionDays: number
  tags: Record<string, string>
}

export interface DesiredFunction {
  name: string
  roleName: string
  runtime: string
  handler: string
  timeout: number
  memorySize: number
  zipPath: string
  codeSha256: string
  /** Environment without ZONE_ID, which comes from the zone at apply time. */
  environment: Record<string, string>
  tags: Record<string, string>
}

export interface DesiredRule {
  name: string
  /** Canonical JSON (sorted keys). */
  eventPattern: string
  description: string
  tags: Record<string, string>
}

export interface DesiredTarget {
  ruleName: string
  id: string
  functionName: string
}

export interface DesiredPermission {
  functionName: string
  statementId: string
  principal: string
  action: string
  ruleName: string
}

export interface DesiredProject {
  zone: DesiredZone
  role: DesiredRole
  rolePolicy: DesiredRolePolicy
  logGroup: DesiredLogGroup
  function: DesiredFunction
  rule: DesiredRule
  target: DesiredTarget
  permission: DesiredPermission
}

export interface DesiredSecurityGroup {
  name: string
  description: string
  vpcId: string
  ingress: IngressRule[]
  tags: Record<string, string>
}

/** Launch template data as EC2 takes it, except the security group id (known after the group exists). */
export interface LaunchTemplateSpec {
  imageId: string
  instanceType: string
  /** Base64 of the user data script. */
  userData: string
  /** Tags on the instances and volumes launched from the template. */
  instanceTags: Record<string, string>
}

export interface DesiredLaunchTemplate {
  name: string
  spec: LaunchTemplateSpec
  tags: Record<string, string>
}

export interface DesiredAsg {
  name: string
  capacity: Capacity
  size: number
  subnetIds: string[]
  /** Spot only: instance types of the MixedInstancesPolicy overrides. */
  instanceTypes: string[]
  tags: Record<string, string>
}

export interface DesiredService {
  name: string
  image: string
  recordName: string
  securityGroup: DesiredSecurityGroup
  launchTemplate: DesiredLaunchTemplate
  asgs: DesiredAsg[]
}

export interface DesiredState {
  scope: StackScope
  partition: string
  network: Network
  project: DesiredProject
  /** Sorted by name. */
  services: DesiredService[]
}

// ---------------------------------------------------------------- current

export interface CurrentZone {
  id: string
  name: string
}

export interface CurrentRolePolicy {
  roleName: string
  policyName: string
  /** Parsed policy document. */
  document: unknown
}

export interface CurrentLogGroup {
  name: string
  arn?: string
  retentionDays?: number
}

export interface CurrentFunction {
  name: string
  arn: string
  runtime?: string
  handler?: string
  role?: string
  timeout?: number
  memorySize?: number
  codeSha256?: string
  environment: Record<string, string>
  state?: string
  lastUpdateStatus?: string
}

export interface CurrentPermission {
  statementId: string
  principal?: string
  action?: string
  sourceArn?: string
}

export interface CurrentRule {
  name: string
  arn: string
  /** Canonical JSON, or the raw text when it does not parse. */
  eventPattern?: string
  state?: string
}

export interface CurrentTarget {
  id: string
  arn: string
}

export interface CurrentSecurityGroup {
  id: string
  name: string
  vpcId?: string
  service: string
  ingress: IngressRule[]
  /** Tag hyperform:config-hash: the hash of the ingress rules the action last wrote. */
  configHash?: string
}

export interface CurrentLaunchTemplate {
  id: string
  name: string
  service: string
  defaultVersion: number
  latestVersion: number
  configHash?: string
  /** Tag hyperform:version: the version the action last made the default (absent on older templates). */
  actionVersion?: number
  /** Summary tags: the image and instance type of the default version. */
  image?: string
  instanceType?: string
}

export interface CurrentAsgInstance {
  id: string
  lifecycleState?: string
  healthStatus?: string
  /** The launch template version the instance was launched from. */
  launchTemplateVersion?: string
}

export interface CurrentAsg {
  name: string
  service: string
  capacity: Capacity
  min: number
  max: number
  desired: number
  launchTemplateId?: string
  /** The version the group launches, as it reports it ("3", "$Latest", ...). */
  launchTemplateVersion?: string
  instanceTypes: string[]
  onDemandBase?: number
  onDemandPercent?: number
  spotStrategy?: string
  capacityRebalance: boolean
  subnetIds: string[]
  instances: CurrentAsgInstance[]
  tags: Record<string, string>
  /** Set while AWS deletes it ("Delete in progress"). */
  status?: string
}

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
}

export interface CurrentState {
  scope: StackScope
  /** From any ARN read; undefined on a fresh account/region. */
  accountId?: string
  zone?: CurrentZone
  rolePolicy?: CurrentRolePolicy
  logGroup?: CurrentLogGroup
  function?: CurrentFunction
  permission?: CurrentPermission
  rule?: CurrentRule
  targets: CurrentTarget[]
  securityGroups: CurrentSecurityGroup[]
  launchTemplates: CurrentLaunchTemplate[]
  asgs: CurrentAsg[]
  /** The stack's records (names without the trailing dot); empty unless read (ReadOptions.records). */
  records: CurrentRecord[]
  /** Whether `records` was read. */
  recordsRead?: boolean
  /** Only read when asked (destroy, wait, drift). */
  instances?: CurrentInstance[]
  /** Only read for destroy: whether ASGs of another stack of the project exist. */
  otherStacks?: string[]
}

// ---------------------------------------------------------------- plan

export type ResourceKind =
  | 'hosted-zone'
  | 'iam-role'
  | 'role-policy'
  | 'log-group'
  | 'lambda-function'
  | 'lambda-permission'
  | 'event-rule'
  | 'event-target'
  | 'security-group'
  | 'launch-template'
  | 'auto-scaling-group'
  | 'instance-refresh'
  | 'dns-record'

export type ChangeAction = 'create' | 'update' | 'replace' | 'delete' | 'noop'

interface ChangeCommon {
  action: ChangeAction
  name: string
  /** A human sentence: "replicas 2 -> 3", "image changed", "not in compose file". */
  reason: string
  /** Changed field names (updates). */
  fields?: string[]
  /** Per-service resources: the compose service. */
  service?: string
  /** The difference was made outside the action (nothing in compose or inputs asked for it). */
  drift?: boolean
  /**
   * Destroy only: delete this project-level resource only if, when apply gets to it,
   * no other stack of the project remains.
   */
  onlyIfLastStack?: boolean
}

export type Change = ChangeCommon &
  (
    | { kind: 'hosted-zone'; desired?: DesiredZone; current?: CurrentZone }
    | { kind: 'iam-role'; desired?: DesiredRole; current?: { name: string } }
    | { kind: 'role-policy'; desired?: DesiredRolePolicy; current?: CurrentRolePolicy }
    | { kind: 'log-group'; desired?: DesiredLogGroup; current?: CurrentLogGroup }
    | { kind: 'lambda-function'; desired?: DesiredFunction; current?: CurrentFunction; codeChanged?: boolean }
    | { kind: 'lambda-permission'; desired?: DesiredPermission; current?: CurrentPermission }
    | { kind: 'event-rule'; desired?: DesiredRule; current?: CurrentRule }
    | { kind: 'event-target'; desired?: DesiredTarget; current?: CurrentTarget }
    | { kind: 'security-group'; desired?: DesiredSecurityGroup; current?: CurrentSecurityGroup }
    | { kind: 'launch-template'; desired?: DesiredLaunchTemplate; current?: CurrentLaunchTemplate }
    | { kind: 'auto-scaling-group'; desired?: DesiredAsg; current?: CurrentAsg }
    | { kind: 'instance-refresh'; capacity: Capacity }
    | {
        kind: 'dns-record'
        current?: CurrentRecord
        /** Drift heal: the running instances' IPs the record must list (none: delete it) and its TTL. */
        values?: string[]
        ttl?: number
      }
  )

export type ChangeOf<K extends ResourceKind> = Extract<Change, { kind: K }>

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

export interface WaitResult {
  ready: boolean
  timedOut: boolean
  services: Array<{
    service: string
    /** Desired instances (replicas). */
    desired: number
    /** Instances InService in their ASGs and running. */
    running: number
    /** The record's values. */
    recordValues: string[]
    /** The running instances' private IPs. */
    instanceIps: string[]
    ready: boolean
  }>
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
/** A change before its action and reason are decided. */
export type ChangeDraft = DistributiveOmit<Change, 'action' | 'reason'>

/** A draft with its action and reason. */
export function decide(draft: ChangeDraft, action: ChangeAction, reason: string, extra: Partial<Pick<Change, 'drift' | 'onlyIfLastStack' | 'fields'>> = {}): Change {
  return { ...draft, ...extra, action, reason } as unknown as Change
}
