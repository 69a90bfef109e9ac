/**
 * The registry of resource kinds, in dependency order (every kind after the
 * kinds it depends on; a test checks it). Its type makes a kind without a row,
 * or a row without read/diff/apply/remove, a compile error.
 */
import type { ResourceKind } from '../state.js'
import { autoScalingGroup, type AsgChange } from './auto-scaling-group.js'
import { dnsRecord, type RecordChange } from './dns-record.js'
import { eventRule, type RuleChange } from './event-rule.js'
import { eventTarget, type TargetChange } from './event-target.js'
import { hostedZone, type ZoneChange } from './hosted-zone.js'
import { iamRole, type RoleChange } from './iam-role.js'
import { instanceRefresh, type RefreshChange } from './instance-refresh.js'
import type { KindOps } from './kind.js'
import { lambdaFunction, type FunctionChange } from './lambda-function.js'
import { lambdaPermission, type PermissionChange } from './lambda-permission.js'
import { deadLetterQueue, type DeadLetterQueueChange } from './dead-letter-queue.js'
import { eventQueue, type QueueChange } from './event-queue.js'
import { eventSourceMapping, type MappingChange } from './event-source-mapping.js'
import { scheduleRule, type ScheduleChange } from './schedule-rule.js'
import { launchTemplate, type LaunchTemplateChange } from './launch-template.js'
import { logGroup, type LogGroupChange } from './log-group.js'
import { rolePolicy, type RolePolicyChange } from './role-policy.js'
import { securityGroup, type SecurityGroupChange } from './security-group.js'
import { zoneAssociation, type AssociationChange } from './zone-association.js'
import { zoneSoa, type SoaChange } from './zone-soa.js'
import { containerLogGroup, type ContainerLogGroupChange } from './container-log-group.js'
import { instanceRole, type InstanceRoleChange } from './instance-role.js'
import { instanceProfile, type InstanceProfileChange } from './instance-profile.js'
import { serviceConfig, type ConfigChange } from './service-config.js'
import { certificate, type CertificateChange } from './certificate.js'
import { stackCertificate, type StackCertificateChange } from './stack-certificate.js'
import { loadBalancerSecurityGroup, type LoadBalancerSecurityGroupChange } from './load-balancer-security-group.js'
import { loadBalancer, type LoadBalancerChange } from './load-balancer.js'
import { listener, type ListenerChange } from './listener.js'
import { targetGroup, type TargetGroupChange } from './target-group.js'
import { listenerRule, type ListenerRuleChange } from './listener-rule.js'
import { aliasRecord, type AliasRecordChange } from './alias-record.js'
import { volume, type VolumeChange } from './volume.js'
import { ecrRepository, type RepositoryChange } from './ecr-repository.js'

/** Each kind's change type: this row and the one in KINDS are all the engine needs to know of a kind. */
export interface KindChanges {
  'hosted-zone': ZoneChange
  'zone-association': AssociationChange
  'zone-soa': SoaChange
  'iam-role': RoleChange
  'role-policy': RolePolicyChange
  'log-group': LogGroupChange
  'lambda-function': FunctionChange
  'event-rule': RuleChange
  'schedule-rule': ScheduleChange
  'dead-letter-queue': DeadLetterQueueChange
  'event-queue': QueueChange
  'event-target': TargetChange
  'event-source-mapping': MappingChange
  'lambda-permission': PermissionChange
  'container-log-group': ContainerLogGroupChange
  'ecr-repository': RepositoryChange
  'instance-role': InstanceRoleChange
  'instance-profile': InstanceProfileChange
  'service-config': ConfigChange
  volume: VolumeChange
  certificate: CertificateChange
  'load-balancer-security-group': LoadBalancerSecurityGroupChange
  'load-balancer': LoadBalancerChange
  listener: ListenerChange
  'stack-certificate': StackCertificateChange
  'target-group': TargetGroupChange
  'listener-rule': ListenerRuleChange
  'alias-record': AliasRecordChange
  'security-group': SecurityGroupChange
  'launch-template': LaunchTemplateChange
  'auto-scaling-group': AsgChange
  'instance-refresh': RefreshChange
  'dns-record': RecordChange
}

export const KINDS: { readonly [K in ResourceKind]: KindOps<K> } = {
  'hosted-zone': hostedZone,
  'zone-association': zoneAssociation,
  'zone-soa': zoneSoa,
  'iam-role': iamRole,
  'role-policy': rolePolicy,
  'log-group': logGroup,
  'lambda-function': lambdaFunction,
  'event-rule': eventRule,
  'schedule-rule': scheduleRule,
  'dead-letter-queue': deadLetterQueue,
  'event-queue': eventQueue,
  'event-target': eventTarget,
  'event-source-mapping': eventSourceMapping,
  'lambda-permission': lambdaPermission,
  'container-log-group': containerLogGroup,
  'ecr-repository': ecrRepository,
  'instance-role': instanceRole,
  'instance-profile': instanceProfile,
  'service-config': serviceConfig,
  volume,
  certificate,
  'load-balancer-security-group': loadBalancerSecurityGroup,
  'load-balancer': loadBalancer,
  listener,
  'stack-certificate': stackCertificate,
  'target-group': targetGroup,
  'listener-rule': listenerRule,
  'alias-record': aliasRecord,
  'security-group': securityGroup,
  'launch-template': launchTemplate,
  'auto-scaling-group': autoScalingGroup,
  'instance-refresh': instanceRefresh,
  'dns-record': dnsRecord
}

/** Every kind, in the registry's (dependency) order. */
export const KIND_ORDER = Object.keys(KINDS) as ResourceKind[]

/** A kind's operations, typed for any kind (the registry's rows are checked above). */
export function ops<K extends ResourceKind>(kind: K): KindOps<K> {
  return KINDS[kind] as KindOps<K>
}

/**
 * The order removals are planned in: each kind after the kinds in its
 * removeAfter (and removeAfterSettled), ties in registry order.
 */
export const REMOVAL_ORDER: ResourceKind[] = (() => {
  const order: ResourceKind[] = []
  const left = new Set(KIND_ORDER)
  while (left.size > 0) {
    const next = KIND_ORDER.find(
      (k) => left.has(k) && [...KINDS[k].removeAfter, ...(KINDS[k].removeAfterSettled ?? [])].every((d) => !left.has(d))
    )
    if (!next) throw new Error(`removal order has a cycle among ${[...left].join(', ')}`)
    order.push(next)
    left.delete(next)
  }
  return order
})()

/** The registry as a Markdown table (the README's development section shows it; a test keeps them equal). */
export function kindTable(): string {
  const list = (kinds: readonly string[]): string => (kinds.length > 0 ? kinds.map((k) => `\`${k}\``).join(', ') : '-')
  const rows = KIND_ORDER.map((kind) => {
    const op = KINDS[kind]
    return `| \`${kind}\` | ${op.level} | ${list(op.dependsOn)} | ${list([...op.removeAfter, ...(op.removeAfterSettled ?? [])])} |`
  })
  return ['| kind | one per | applied after | removed after |', '| --- | --- | --- | --- |', ...rows].join('\n')
}
