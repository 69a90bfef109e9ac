/** Apply steps of one service: security group, launch template, ASGs, instance refresh. */
import {
  CreateAutoScalingGroupCommand,
  CreateOrUpdateTagsCommand,
  CancelInstanceRefreshCommand,
  StartInstanceRefreshCommand,
  UpdateAutoScalingGroupCommand
} from '@aws-sdk/client-auto-scaling'
import type { LaunchTemplateSpecification, MixedInstancesPolicy } from '@aws-sdk/client-auto-scaling'
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DescribeLaunchTemplatesCommand,
  DescribeSecurityGroupsCommand,
  ModifyLaunchTemplateCommand,
  RevokeSecurityGroupIngressCommand
} from '@aws-sdk/client-ec2'
import type { IpPermission, RequestLaunchTemplateData } from '@aws-sdk/client-ec2'
import { ingressKey } from '../container-ports.js'
import { VERSION_TAG, asgConfigHash, ingressHash, launchTemplateData, launchTemplateHash, launchTemplateTags } from '../desired.js'
import { CONFIG_HASH_TAG } from '../names.js'
import type { ChangeOf, DesiredAsg, DesiredService, IngressRule } from '../state.js'
import type { Engine } from './engine.js'
import { errorMessage, errorName } from './retry.js'

const tagList = (tags: Record<string, string>): Array<{ Key: string; Value: string }> =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }))

const SG_NOT_VISIBLE = ['InvalidGroup.NotFound', 'InvalidGroupId.NotFound']
const LT_NOT_VISIBLE = ['InvalidLaunchTemplateId.NotFound', 'InvalidLaunchTemplateName.NotFoundException', 'InvalidLaunchTemplateId.NotFoundException']

// ------------------------------------------------------------------ security group

function permissions(rules: IngressRule[], description: string): IpPermission[] {
  return rules.map((r) => ({
    IpProtocol: r.protocol,
    FromPort: r.fromPort,
    ToPort: r.toPort,
    ...(r.cidr.includes(':')
      ? { Ipv6Ranges: [{ CidrIpv6: r.cidr, Description: description }] }
      : { IpRanges: [{ CidrIp: r.cidr, Description: description }] })
  }))
}

async function authorize(e: Engine, groupId: string, rules: IngressRule[]): Promise<void> {
  if (rules.length === 0) return
  const send = (batch: IngressRule[]): Promise<unknown> =>
    e.retryOn(SG_NOT_VISIBLE, () =>
      e.call('ec2', 'AuthorizeSecurityGroupIngress', () =>
        e.clients.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: permissions(batch, 'hyperform') }))
      )
    )
  try {
    await send(rules)
  } catch (err) {
    if (errorName(err) !== 'InvalidPermission.Duplicate') throw err
    // Some exist already (a crashed run): add the rest one by one.
    for (const rule of rules) {
      await send([rule]).catch((inner: unknown) => {
        if (errorName(inner) !== 'InvalidPermission.Duplicate') throw inner
      })
    }
  }
}

async function revoke(e: Engine, groupId: string, rules: IngressRule[]): Promise<void> {
  if (rules.length === 0) return
  const perms = permissions(rules, 'hyperform').map((p) => ({
    ...p,
    IpRanges: p.IpRanges?.map((r) => ({ CidrIp: r.CidrIp })),
    Ipv6Ranges: p.Ipv6Ranges?.map((r) => ({ CidrIpv6: r.CidrIpv6 }))
  }))
  await e.call('ec2', 'RevokeSecurityGroupIngress', () =>
    e.clients.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: perms }))
  )
}

async function findGroup(e: Engine, name: string, vpcId: string): Promise<{ id: string; ingress: IngressRule[] } | undefined> {
  const out = await e.call('ec2', 'DescribeSecurityGroups', () =>
    e.clients.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [name] }, { Name: 'vpc-id', Values: [vpcId] }] }))
  )
  const group = out.SecurityGroups?.[0]
  if (!group?.GroupId) return undefined
  const ingress: IngressRule[] = []
  for (const p of group.IpPermissions ?? []) {
    if (p.IpProtocol !== 'tcp' && p.IpProtocol !== 'udp') continue
    for (const r of p.IpRanges ?? []) if (r.CidrIp) ingress.push({ protocol: p.IpProtocol, fromPort: p.FromPort ?? 0, toPort: p.ToPort ?? 0, cidr: r.CidrIp })
  }
  return { id: group.GroupId, ingress }
}

function missingRules(want: IngressRule[], have: IngressRule[]): IngressRule[] {
  const got = new Set(have.map(ingressKey))
  return want.filter((r) => !got.has(ingressKey(r)))
}

/** Creates (or adopts) the group with its ingress rules, or brings the rules up to date; returns its id. */
export async function ensureSecurityGroup(e: Engine, change: ChangeOf<'security-group'>): Promise<string> {
  const sg = change.desired
  if (!sg) throw new Error('no desired security group')
  const hashTag = { [CONFIG_HASH_TAG]: ingressHash(sg.ingress) }
  if (change.action === 'noop' && change.current) return change.current.id
  if (change.action === 'update' && change.current) {
    const { id, ingress } = change.current
    const wanted = new Set(sg.ingress.map(ingressKey))
    await Promise.all([authorize(e, id, missingRules(sg.ingress, ingress)), revoke(e, id, ingress.filter((r) => !wanted.has(ingressKey(r))))])
    await e.call('ec2', 'CreateTags', () => e.clients.ec2.send(new CreateTagsCommand({ Resources: [id], Tags: tagList(hashTag) })))
    return id
  }
  let id: string
  let existing: IngressRule[] = []
  try {
    const out = await e.call('ec2', 'CreateSecurityGroup', () =>
      e.clients.ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: sg.name,
          Description: sg.description,
          VpcId: sg.vpcId,
          TagSpecifications: [{ ResourceType: 'security-group', Tags: tagList({ ...sg.tags, ...hashTag }) }]
        })
      )
    )
    id = out.GroupId ?? ''
  } catch (err) {
    if (errorName(err) !== 'InvalidGroup.Duplicate') throw err
    const found = await e.retryOn(['NotYet'], async () => {
      const group = await findGroup(e, sg.name, sg.vpcId)
      if (!group) throw Object.assign(new Error(`security group ${sg.name} exists but is not visible yet`), { name: 'NotYet' })
      return group
    })
    id = found.id
    existing = found.ingress
  }
  await authorize(e, id, missingRules(sg.ingress, existing))
  return id
}

// ------------------------------------------------------------------ launch template

export interface TemplateRef {
  id: string
  version: number
}

function templateTags(service: DesiredService, securityGroupId: string, version: number): Record<string, string> {
  return { ...launchTemplateTags(service.launchTemplate, { image: service.image, securityGroupId, hashTag: CONFIG_HASH_TAG }), [VERSION_TAG]: String(version) }
}

async function newVersion(e: Engine, args: { service: DesiredService; templateId: string; securityGroupId: string }): Promise<TemplateRef> {
  const data = launchTemplateData(args.service.launchTemplate.spec, args.securityGroupId) as RequestLaunchTemplateData
  const out = await e.retryOn(LT_NOT_VISIBLE, () =>
    e.call('ec2', 'CreateLaunchTemplateVersion', () =>
      e.clients.ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: args.templateId, LaunchTemplateData: data }))
    )
  )
  const version = out.LaunchTemplateVersion?.VersionNumber ?? 0
  await e.retryOn(LT_NOT_VISIBLE, () =>
    e.call('ec2', 'ModifyLaunchTemplate', () =>
      e.clients.ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: args.templateId, DefaultVersion: String(version) }))
    )
  )
  // The hash is written last: if this run dies before, the next one makes the version again.
  await e.call('ec2', 'CreateTags', () =>
    e.clients.ec2.send(new CreateTagsCommand({ Resources: [args.templateId], Tags: tagList(templateTags(args.service, args.securityGroupId, version)) }))
  )
  return { id: args.templateId, version }
}

async function adoptTemplate(e: Engine, args: { service: DesiredService; securityGroupId: string }): Promise<TemplateRef> {
  const name = args.service.launchTemplate.name
  const out = await e.retryOn(LT_NOT_VISIBLE, () =>
    e.call('ec2', 'DescribeLaunchTemplates', () => e.clients.ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: [name] })))
  )
  const template = out.LaunchTemplates?.[0]
  if (!template?.LaunchTemplateId) throw new Error(`launch template ${name} exists but cannot be read`)
  const hash = template.Tags?.find((t) => t.Key === CONFIG_HASH_TAG)?.Value
  if (hash === launchTemplateHash(args.service.launchTemplate.spec, args.securityGroupId)) {
    return { id: template.LaunchTemplateId, version: template.DefaultVersionNumber ?? 1 }
  }
  return newVersion(e, { ...args, templateId: template.LaunchTemplateId })
}

/** Drift heal: the default version was changed by hand; make the action's version the default again. */
async function restoreDefault(e: Engine, templateId: string, version: number): Promise<TemplateRef> {
  await e.call('ec2', 'ModifyLaunchTemplate', () =>
    e.clients.ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: templateId, DefaultVersion: String(version) }))
  )
  return { id: templateId, version }
}

export async function ensureLaunchTemplate(e: Engine, change: ChangeOf<'launch-template'>, args: { service: DesiredService; securityGroupId: string }): Promise<TemplateRef> {
  if (change.action === 'noop' && change.current) return { id: change.current.id, version: change.current.defaultVersion }
  const made = change.current?.actionVersion
  if (change.action === 'update' && change.current && made !== undefined && change.fields?.includes('defaultVersion')) return restoreDefault(e, change.current.id, made)
  if (change.action === 'update' && change.current) return newVersion(e, { ...args, templateId: change.current.id })
  const lt = args.service.launchTemplate
  try {
    const out = await e.retryOn(SG_NOT_VISIBLE, () =>
      e.call('ec2', 'CreateLaunchTemplate', () =>
        e.clients.ec2.send(
          new CreateLaunchTemplateCommand({
            LaunchTemplateName: lt.name,
            LaunchTemplateData: launchTemplateData(lt.spec, args.securityGroupId) as RequestLaunchTemplateData,
            TagSpecifications: [{ ResourceType: 'launch-template', Tags: tagList(templateTags(args.service, args.securityGroupId, 1)) }]
          })
        )
      )
    )
    return { id: out.LaunchTemplate?.LaunchTemplateId ?? '', version: out.LaunchTemplate?.LatestVersionNumber ?? 1 }
  } catch (err) {
    if (errorName(err) !== 'InvalidLaunchTemplateName.AlreadyExistsException') throw err
    return adoptTemplate(e, args)
  }
}

// ------------------------------------------------------------------ ASGs

function groupConfig(asg: DesiredAsg, template: TemplateRef): {
  LaunchTemplate?: LaunchTemplateSpecification
  MixedInstancesPolicy?: MixedInstancesPolicy
  CapacityRebalance: boolean
} {
  const spec = { LaunchTemplateId: template.id, Version: String(template.version) }
  if (asg.capacity !== 'spot') return { LaunchTemplate: spec, CapacityRebalance: false }
  return {
    MixedInstancesPolicy: {
      LaunchTemplate: { LaunchTemplateSpecification: spec, Overrides: asg.instanceTypes.map((InstanceType) => ({ InstanceType })) },
      InstancesDistribution: {
        OnDemandBaseCapacity: 0,
        OnDemandPercentageAboveBaseCapacity: 0,
        SpotAllocationStrategy: 'price-capacity-optimized'
      }
    },
    CapacityRebalance: true
  }
}

function groupTags(asg: DesiredAsg): Array<{ Key: string; Value: string; PropagateAtLaunch: boolean; ResourceId: string; ResourceType: string }> {
  const tags = { ...asg.tags, [CONFIG_HASH_TAG]: asgConfigHash(asg) }
  return Object.entries(tags).map(([Key, Value]) => ({
    Key,
    Value,
    PropagateAtLaunch: Key !== CONFIG_HASH_TAG,
    ResourceId: asg.name,
    ResourceType: 'auto-scaling-group'
  }))
}

const templateNotVisible = (err: unknown): boolean =>
  LT_NOT_VISIBLE.includes(errorName(err)) ||
  (errorName(err) === 'ValidationError' && /launch template.*(not found|does not exist)|does not exist.*launch template/i.test(errorMessage(err)))

async function updateGroup(e: Engine, asg: DesiredAsg, template: TemplateRef, tags = true): Promise<void> {
  await e.retryOn((err) => templateNotVisible(err) || errorName(err) === 'ScalingActivityInProgress' || errorName(err) === 'ResourceContention', () =>
    e.call('autoScaling', 'UpdateAutoScalingGroup', () =>
      e.clients.autoScaling.send(
        new UpdateAutoScalingGroupCommand({
          AutoScalingGroupName: asg.name,
          MinSize: asg.size,
          MaxSize: asg.size,
          DesiredCapacity: asg.size,
          VPCZoneIdentifier: asg.subnetIds.join(','),
          ...groupConfig(asg, template)
        })
      )
    )
  )
  if (tags) await e.call('autoScaling', 'CreateOrUpdateTags', () => e.clients.autoScaling.send(new CreateOrUpdateTagsCommand({ Tags: groupTags(asg) })))
}

export async function ensureAsg(e: Engine, change: ChangeOf<'auto-scaling-group'>, template: TemplateRef): Promise<void> {
  const asg = change.desired
  if (!asg) throw new Error('no desired ASG')
  // A new template version alone changes no tag (the config hash covers sizes, types and subnets).
  if (change.action === 'update') return updateGroup(e, asg, template, (change.fields ?? []).some((f) => f !== 'launchTemplate'))
  try {
    await e.retryOn(templateNotVisible, () =>
      e.call('autoScaling', 'CreateAutoScalingGroup', () =>
        e.clients.autoScaling.send(
          new CreateAutoScalingGroupCommand({
            AutoScalingGroupName: asg.name,
            MinSize: asg.size,
            MaxSize: asg.size,
            DesiredCapacity: asg.size,
            VPCZoneIdentifier: asg.subnetIds.join(','),
            Tags: groupTags(asg),
            ...groupConfig(asg, template)
          })
        )
      )
    )
  } catch (err) {
    if (errorName(err) !== 'AlreadyExists' && errorName(err) !== 'AlreadyExistsFault') throw err
    await updateGroup(e, asg, template)
  }
}

/** Rolls the group's instances to its new launch template version, launching before terminating. */
export async function startRefresh(e: Engine, asgName: string): Promise<string> {
  const start = (): Promise<{ InstanceRefreshId?: string }> =>
    e.call('autoScaling', 'StartInstanceRefresh', () =>
      e.clients.autoScaling.send(
        new StartInstanceRefreshCommand({
          AutoScalingGroupName: asgName,
          Strategy: 'Rolling',
          Preferences: { MinHealthyPercentage: 100, MaxHealthyPercentage: 200, SkipMatching: true, InstanceWarmup: 60 }
        })
      )
    )
  try {
    return (await start()).InstanceRefreshId ?? ''
  } catch (err) {
    if (errorName(err) !== 'InstanceRefreshInProgress') throw err
    // A refresh toward an older version is running: cancel it and start ours once it has stopped.
    await e.call('autoScaling', 'CancelInstanceRefresh', () =>
      e.clients.autoScaling.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: asgName }))
    ).catch((inner: unknown) => {
      if (errorName(inner) !== 'ActiveInstanceRefreshNotFound') throw inner
    })
    return (await e.retryOn(['InstanceRefreshInProgress'], start)).InstanceRefreshId ?? ''
  }
}
