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

export type MemberLifecycle = 'Pending' | 'InService' | 'Terminating'

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
}
