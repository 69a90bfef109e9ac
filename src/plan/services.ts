/** Diff of the per-service resources: security group, launch template, the two ASGs, refreshes, records. Pure. */
import { ingressKey } from '../container-ports.js'
import { asgConfigHash, ingressHash, launchTemplateHash } from '../desired.js'
import { CONFIG_HASH_TAG, recordName, stackDomain } from '../names.js'
import type { StackScope } from '../names.js'
import type {
  Change,
  CurrentAsg,
  CurrentLaunchTemplate,
  CurrentSecurityGroup,
  CurrentState,
  DesiredAsg,
  DesiredService,
  DesiredState
} from '../state.js'

function securityGroupChange(service: DesiredService, have: CurrentSecurityGroup | undefined, serviceExists: boolean): Change {
  const sg = service.securityGroup
  const base = { kind: 'security-group' as const, name: sg.name, service: service.name, desired: sg, current: have }
  if (!have) return { ...base, action: 'create', reason: `not found; ${sg.ingress.length} ingress rule(s)`, drift: serviceExists }
  if (have.vpcId && have.vpcId !== sg.vpcId) {
    throw new Error(`security group ${sg.name} is in ${have.vpcId} but the stack now deploys to ${sg.vpcId}; destroy the stack first`)
  }
  const want = new Set(sg.ingress.map(ingressKey))
  const got = new Set(have.ingress.map(ingressKey))
  const added = [...want].filter((k) => !got.has(k))
  const removed = [...got].filter((k) => !want.has(k))
  if (added.length === 0 && removed.length === 0) return { ...base, action: 'noop', reason: 'up to date' }
  const parts = [added.length ? `+${added.join(' +')}` : '', removed.length ? `-${removed.join(' -')}` : ''].filter(Boolean)
  return {
    ...base,
    action: 'update',
    reason: `ingress ${parts.join(' ')}`,
    fields: ['ingress'],
    drift: have.configHash === ingressHash(sg.ingress)
  }
}

function templateReason(service: DesiredService, have: CurrentLaunchTemplate, sgNew: boolean): string {
  const reasons: string[] = []
  if (have.image !== undefined && have.image !== service.image.slice(0, 256)) reasons.push(`image ${have.image} -> ${service.image}`)
  const type = service.launchTemplate.spec.instanceType
  if (have.instanceType !== undefined && have.instanceType !== type) reasons.push(`instance type ${have.instanceType} -> ${type}`)
  if (sgNew) reasons.push('new security group')
  return reasons.length > 0 ? reasons.join(', ') : 'configuration changed (command, environment, ports, AMI or DNS)'
}

function templateChange(service: DesiredService, have: CurrentLaunchTemplate | undefined, sg: CurrentSecurityGroup | undefined, serviceExists: boolean): Change {
  const lt = service.launchTemplate
  const base = { kind: 'launch-template' as const, name: lt.name, service: service.name, desired: lt, current: have }
  if (!have) return { ...base, action: 'create', reason: `not found; ${lt.spec.instanceType}, ${service.image}`, drift: serviceExists }
  if (sg && have.configHash === launchTemplateHash(lt.spec, sg.id)) {
    const made = have.actionVersion
    if (made === undefined || made === have.defaultVersion) return { ...base, action: 'noop', reason: `up to date (version ${have.defaultVersion})` }
    return { ...base, action: 'update', reason: `default version ${have.defaultVersion} -> ${made} (set outside the action)`, fields: ['defaultVersion'], drift: true }
  }
  // A security group deleted by hand: the new version only points at its replacement.
  return { ...base, action: 'update', reason: `new version: ${templateReason(service, have, !sg)}`, fields: ['version'], drift: !sg }
}

function capacityLabel(asg: DesiredAsg): string {
  return asg.capacity === 'spot' ? 'spot' : 'on-demand'
}

function asgFields(want: DesiredAsg, have: CurrentAsg): string[] {
  const fields: string[] = []
  if (have.min !== want.size || have.max !== want.size || have.desired !== want.size) fields.push('size')
  if (have.subnetIds.join(',') !== [...want.subnetIds].sort().join(',')) fields.push('subnets')
  if (want.capacity === 'spot') {
    const spotOk = have.onDemandBase === 0 && have.onDemandPercent === 0 && have.spotStrategy === 'price-capacity-optimized' && have.capacityRebalance
    if (have.instanceTypes.join(',') !== want.instanceTypes.join(',')) fields.push('instanceTypes')
    if (!spotOk) fields.push('spotPolicy')
  } else if (have.instanceTypes.length > 0) {
    fields.push('instanceTypes')
  }
  if (Object.entries(want.tags).some(([k, v]) => have.tags[k] !== v)) fields.push('tags')
  return fields
}

interface TemplateState {
  /** The template gets a new version (or is created). */
  changing: boolean
  current?: CurrentLaunchTemplate
  /** The version the groups launch once the template is right (its default, or the action's own when the default was changed by hand). */
  version?: number
}

function fieldReason(field: string, args: { want: DesiredAsg; have: CurrentAsg; template: TemplateState }): string {
  const { want, have, template } = args
  if (field === 'size') {
    const now = have.min === have.desired && have.max === have.desired ? `${have.desired}` : `${have.desired} (min ${have.min}, max ${have.max})`
    return `${capacityLabel(want)} ${now} -> ${want.size}`
  }
  if (field !== 'launchTemplate') return `${field} changed`
  if (template.changing || !template.current) return 'new launch template version'
  const same = have.launchTemplateId === template.current.id
  return `launch template ${same ? `version ${have.launchTemplateVersion ?? '?'}` : (have.launchTemplateId ?? 'none')} -> version ${template.version}`
}

function asgChange(args: { service: DesiredService; want: DesiredAsg; have?: CurrentAsg; template: TemplateState; serviceExists: boolean }): Change {
  const { service, want, have, template } = args
  const base = { kind: 'auto-scaling-group' as const, name: want.name, service: service.name, desired: want, current: have }
  if (!have) {
    return { ...base, action: 'create', reason: `not found; ${capacityLabel(want)} ${want.size}`, drift: args.serviceExists }
  }
  const fields = asgFields(want, have)
  const versionOk = !template.changing && template.current !== undefined &&
    have.launchTemplateId === template.current.id && have.launchTemplateVersion === String(template.version)
  if (!versionOk) fields.push('launchTemplate')
  if (fields.length === 0) return { ...base, action: 'noop', reason: `${capacityLabel(want)} ${want.size}` }
  const reasons = fields.map((f) => fieldReason(f, { want, have, template }))
  const configDrift = fields.some((f) => f !== 'launchTemplate') && have.tags[CONFIG_HASH_TAG] === asgConfigHash(want)
  const versionDrift = !template.changing && !versionOk
  return { ...base, action: 'update', reason: reasons.join(', '), fields, drift: configDrift || versionDrift }
}

/** Live instances of the group launched from another version than the one it launches now. */
function outdatedInstances(have: CurrentAsg): number {
  const want = have.launchTemplateVersion
  if (!want || !/^\d+$/.test(want)) return 0
  return have.instances.filter((i) => i.launchTemplateVersion !== undefined && i.launchTemplateVersion !== want && !(i.lifecycleState ?? '').startsWith('Terminat')).length
}

function refreshChange(service: DesiredService, asg: DesiredAsg, have: CurrentAsg | undefined, asgPlan: Change): Change | undefined {
  if (!have || have.instances.length === 0) return undefined
  const base = { kind: 'instance-refresh' as const, action: 'create' as const, name: asg.name, service: service.name, capacity: asg.capacity }
  if (asgPlan.fields?.includes('launchTemplate')) return { ...base, reason: `roll ${have.instances.length} instance(s) to the new launch template version` }
  // A rollout that never ran or never finished (a run died after moving the group to a new version).
  const outdated = outdatedInstances(have)
  return outdated > 0 ? { ...base, reason: `roll ${outdated} instance(s) still on an older launch template version` } : undefined
}

/** Instance states on the way in or out: the DNS updater is about to rewrite the record. */
const MOVING = new Set(['pending', 'shutting-down', 'stopping'])

/** ASG changes that start or stop instances. */
const resizes = (c: Change): boolean =>
  c.kind === 'auto-scaling-group' && c.action !== 'noop' && (c.action !== 'update' || (c.fields ?? []).some((f) => f === 'size' || f === 'subnets'))

/** Why the record cannot be judged now (a rollout or resize under way or planned), if so. */
function unsettled(service: DesiredService, current: CurrentState, planned: Change[]): string | undefined {
  const moving = (current.instances ?? []).find((i) => i.service === service.name && MOVING.has(i.state))
  if (moving) return `instance ${moving.id} is ${moving.state}`
  const groups = current.asgs.filter((g) => service.asgs.some((a) => a.name === g.name))
  const member = groups.flatMap((g) => g.instances).find((i) => i.lifecycleState !== undefined && i.lifecycleState !== 'InService')
  if (member) return `instance ${member.id} is ${member.lifecycleState}`
  if (planned.some((c) => c.kind === 'instance-refresh')) return 'an instance refresh is planned'
  if (planned.some(resizes)) return 'its groups change size'
  return undefined
}

const sameValues = (a: readonly string[], b: readonly string[]): boolean => [...a].sort().join(',') === [...b].sort().join(',')

/**
 * The service's record against its running instances (when both were read). A difference while
 * nothing moves is drift, healed by writing the running IPs (none: deleting the record); while
 * instances come or go the DNS updater is on it, and the record is not judged.
 */
function recordChange(args: { service: DesiredService; current: CurrentState; planned: Change[]; ttl: number }): Change {
  const { service, current } = args
  const record = current.records.find((r) => r.name === service.recordName && r.type === 'A')
  const base = { kind: 'dns-record' as const, name: service.recordName, service: service.name, current: record }
  const kept = record ? `${record.values.length} address(es), kept by the DNS updater` : 'kept by the DNS updater'
  if (!current.recordsRead || !current.instances) return { ...base, action: 'noop', reason: kept }
  const ips = current.instances.filter((i) => i.service === service.name && i.state === 'running' && i.privateIp).map((i) => i.privateIp as string).sort()
  const listed = record?.values ?? []
  if (sameValues(ips, listed)) return { ...base, action: 'noop', reason: kept }
  const why = unsettled(service, current, args.planned)
  if (why) return { ...base, action: 'noop', reason: `${kept}; not compared while ${why}` }
  const heal = { ...base, values: ips, ttl: args.ttl, drift: true, fields: ['values'] }
  if (!record) return { ...heal, action: 'create', reason: `missing; running: ${ips.join(', ')}` }
  const running = ips.length > 0 ? `running: ${ips.join(', ')}` : 'no instance runs'
  return { ...heal, action: 'update', reason: `lists ${listed.join(', ')}; ${running}` }
}

export function serviceChanges(service: DesiredService, current: CurrentState, options: { recordTtl: number }): Change[] {
  const sg = current.securityGroups.find((g) => g.name === service.securityGroup.name)
  const lt = current.launchTemplates.find((t) => t.name === service.launchTemplate.name)
  const asgsExist = service.asgs.some((a) => current.asgs.some((g) => g.name === a.name))
  const sgChange = securityGroupChange(service, sg, lt !== undefined || asgsExist)
  const ltChange = templateChange(service, lt, sg, sg !== undefined || asgsExist)
  const restoring = ltChange.fields?.includes('defaultVersion') === true
  const version = restoring ? lt?.actionVersion : lt?.defaultVersion
  const template: TemplateState = { changing: ltChange.action !== 'noop' && !restoring, current: lt, version }
  const changes: Change[] = [sgChange, ltChange]
  const refreshes: Change[] = []
  for (const want of service.asgs) {
    const have = current.asgs.find((g) => g.name === want.name)
    const change = asgChange({ service, want, have, template, serviceExists: sg !== undefined || lt !== undefined })
    changes.push(change)
    const refresh = refreshChange(service, want, have, change)
    if (refresh) refreshes.push(refresh)
  }
  const record = recordChange({ service, current, planned: [...changes, ...refreshes], ttl: options.recordTtl })
  return [...changes, ...refreshes, record]
}

/** The service a record under the stack's domain belongs to (`<service>.<stack domain>`), if any. */
export function recordService(scope: StackScope, name: string): string | undefined {
  const suffix = `.${stackDomain(scope)}`
  if (!name.endsWith(suffix)) return undefined
  const label = name.slice(0, -suffix.length)
  return label && !label.includes('.') ? label : undefined
}

/** Deletes of everything of the stack that `keep` does not name (keep = desired names). */
export function removals(current: CurrentState, keep: { names: Set<string>; services: Set<string>; reason: string; orphansAreDrift?: boolean }): Change[] {
  const gone = (name: string): boolean => !keep.names.has(name)
  const reason = keep.reason
  const changes: Change[] = []
  for (const g of current.asgs.filter((a) => gone(a.name))) {
    // AWS is still deleting it (ForceDelete by an earlier run): nothing to call; its template and group go once free.
    if (g.status) changes.push({ kind: 'auto-scaling-group', action: 'noop', name: g.name, service: g.service, reason: `being deleted (${g.status})`, current: g })
    else changes.push({ kind: 'auto-scaling-group', action: 'delete', name: g.name, service: g.service, reason, current: g })
  }
  for (const t of current.launchTemplates.filter((a) => gone(a.name))) {
    changes.push({ kind: 'launch-template', action: 'delete', name: t.name, service: t.service, reason, current: t })
  }
  for (const s of current.securityGroups.filter((a) => gone(a.name))) {
    changes.push({ kind: 'security-group', action: 'delete', name: s.name, service: s.service, reason, current: s })
  }
  const records = recordRemovals(current, keep.services, changes, reason)
  changes.push(...(keep.orphansAreDrift ? records.map((c) => orphanRecord(current, c)) : records))
  return changes
}

/** A record whose service has no group, template or security group left was not made by a compose change: drift. */
function orphanRecord(current: CurrentState, change: Change): Change {
  const owned = (r: { service: string }): boolean => r.service === change.service
  const orphan = !current.asgs.some(owned) && !current.launchTemplates.some(owned) && !current.securityGroups.some(owned)
  return orphan ? { ...change, reason: 'no service of the stack owns it', drift: true } : change
}

/**
 * Records of services that are going: the ones read, or, when records were not
 * read, the record name of every service losing resources (apply re-reads and
 * deletes only what exists).
 */
function recordRemovals(current: CurrentState, keep: Set<string>, removed: Change[], reason: string): Change[] {
  if (current.recordsRead) {
    return current.records
      .map((r) => ({ r, service: recordService(current.scope, r.name) }))
      .filter(({ r, service }) => r.type === 'A' && service !== undefined && !keep.has(service))
      .map(({ r, service }) => ({ kind: 'dns-record', action: 'delete', name: r.name, service, reason, current: r }))
  }
  const services = [...new Set(removed.map((c) => c.service ?? ''))].filter((s) => s && !keep.has(s)).sort()
  return services.map((service) => ({ kind: 'dns-record', action: 'delete', name: recordName(current.scope, service), service, reason: `${reason} (if present)` }))
}

export function desiredNames(desired: DesiredState): Set<string> {
  const names = new Set<string>()
  for (const s of desired.services) {
    names.add(s.securityGroup.name)
    names.add(s.launchTemplate.name)
    for (const a of s.asgs) names.add(a.name)
  }
  return names
}
