/** Auto Scaling group records. */
import type { Activity, InstanceRefresh } from '@aws-sdk/client-auto-scaling'

export interface TemplateSpec {
  id: string
  name: string
  /** As specified: '$Latest', '$Default' or a number. */
  version: string
}

export interface Distribution {
  onDemandBase: number
  onDemandPercentage: number
  spotAllocationStrategy: string
  onDemandAllocationStrategy: string
  spotMaxPrice?: string
}

export interface GroupTag {
  key: string
  value: string
  propagateAtLaunch: boolean
}

export type MemberLifecycle =
  'Pending' | 'Pending:Wait' | 'Pending:Proceed' | 'InService' | 'Terminating' | 'EnteringStandby' | 'Standby'

export const LAUNCHING = 'autoscaling:EC2_INSTANCE_LAUNCHING'
export const TERMINATING = 'autoscaling:EC2_INSTANCE_TERMINATING'

/** A lifecycle hook (PutLifecycleHook / LifecycleHookSpecificationList). */
export interface LifecycleHookRecord {
  name: string
  transition: typeof LAUNCHING | typeof TERMINATING
  /** Seconds, 30..7200 (default 3600). */
  heartbeatTimeout: number
  defaultResult: 'CONTINUE' | 'ABANDON'
  notificationMetadata?: string
  notificationTargetArn?: string
  roleArn?: string
}

/** One launch hook's pending lifecycle action on a member in Pending:Wait. */
export interface PendingAction {
  hook: string
  token: string
  /** The heartbeat timeout's timer: it applies the hook's DefaultResult. */
  timer?: NodeJS.Timeout
  completed?: 'CONTINUE' | 'ABANDON'
}

/** The launch configuration instances are launched from: the group's own, or a refresh's desired one. */
export interface LaunchConfig {
  template: TemplateSpec
  mixed?: GroupRecord['mixed']
}

export interface Member {
  instanceId: string
  availabilityZone: string
  instanceType: string
  lifecycle: MemberLifecycle
  health: 'Healthy' | 'Unhealthy'
  spot: boolean
  template: TemplateSpec
  /** The launch template version number the instance was launched from. */
  versionNumber: number
  launchedAt: number
  subnetId: string
  /** When the member entered InService (instance refresh warmup counts from here). */
  inServiceAt?: number
  /** The scaling activity of its launch: InProgress until InService, Cancelled when abandoned. */
  launchActivity?: Activity
  terminateActivity?: Activity
  /** The launch hooks' actions while the member is in Pending:Wait, by hook name. */
  actions?: Map<string, PendingAction>
  /** Set when an instance refresh launched it (a replacement of that refresh). */
  refreshId?: string
  /** Set when its launch was abandoned by a lifecycle hook. */
  abandoned?: string
  /**
   * Capacity Rebalancing: set when the spot instance got a rebalance recommendation or an interruption warning;
   * the group launches a replacement and terminates this member once a new one is InService.
   */
  rebalancing?: 'rebalance' | 'interruption'
}

export interface GroupRecord {
  name: string
  arn: string
  region: string
  createdAt: number
  template: TemplateSpec
  /** Set when the group uses a MixedInstancesPolicy. */
  mixed?: { overrides: string[]; distribution: Distribution }
  minSize: number
  maxSize: number
  desired: number
  subnetIds: string[]
  capacityRebalance: boolean
  healthCheckType: string
  healthCheckGracePeriod: number
  defaultCooldown: number
  terminationPolicies: string[]
  tags: GroupTag[]
  members: Map<string, Member>
  activities: Activity[]
  refreshes: InstanceRefresh[]
  deleting: boolean
  /** The last launch failure message, so the reconciler does not retry in a loop. */
  launchBlocked?: string
  hooks: Map<string, LifecycleHookRecord>
  /** While an instance refresh with a DesiredConfiguration runs: what new instances are launched from. */
  refreshConfig?: LaunchConfig
  /** The instance refresh replacing instances now: its id, `<id>/rollback` while it rolls back (its launches are its replacements). */
  refreshing?: string
  /** Why a replacement of the running refresh was lost (abandoned by a launch hook, terminated before in service). */
  refreshFailure?: string
  /** Extra instances an instance refresh launches above desired before terminating old ones. */
  surge: number
  /** After an abandoned launch, no new launch before this time (epoch ms), as after a failed launch. */
  holdLaunchesUntil?: number
  /** The ELBv2 target groups attached (TargetGroupARNs): in-service members are registered in each. */
  targetGroups: string[]
  /** Detached target groups whose members still drain (State Removing), with the instances deregistered. */
  removingTargetGroups: Map<string, string[]>
}
