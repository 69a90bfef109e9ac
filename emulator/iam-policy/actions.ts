/**
 * For every operation the emulator serves: the IAM action it is authorized as, the resource ARN(s)
 * (the Service Authorization Reference's resource types; `*` where the action has no resource-level
 * permission) and the condition keys the emulator can supply (the resource's tags, the request's
 * tags, iam:PassedToService for the roles an operation passes). An operation with several
 * checks (CreateFunction also needs iam:PassRole) is allowed only when every check is.
 *
 * An operation missing from the table is authorized as `<signing name>:<Operation>` on `*`.
 */
import type { RequestView } from './request.js'
import { AUTOSCALING_SERVICE_LINKED_ROLE, serviceLinkedRoleArn } from '../services/iam/service-linked.js'
import { customerKeyArn } from '../services/ssm/keys.js'
import { parseRepositoryArn, repositoryArn } from '../services/ecr/model.js'

export interface Check {
  action: string
  /** The resource ARN, or `*`. */
  resource: string
  /** Condition keys (lower-cased) and their values, beyond the global ones the authorizer adds. */
  context?: Record<string, string[]>
  /** The service's own message when this check fails (else AWS's `User: ... is not authorized to perform: ...`). */
  message?: string
}

type Rule = (r: RequestView) => Check[]

// ---- helpers ----

type Tags = Record<string, string>

/** aws:ResourceTag/<key> (and the service's own prefix, e.g. ec2:ResourceTag/<key>) for each tag. */
function resourceTags(tags: Tags | undefined, ...prefixes: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [k, v] of Object.entries(tags ?? {}))
    for (const p of ['aws', ...prefixes]) out[`${p}:resourcetag/${k}`.toLowerCase()] = [v]
  return out
}

/** aws:RequestTag/<key> for each tag the request sets, and aws:TagKeys. */
function requestTags(tags: [string, string | undefined][]): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  if (tags.length === 0) return out
  for (const [k, v] of tags) if (v !== undefined) out[`aws:requesttag/${k}`.toLowerCase()] = [v]
  out['aws:tagkeys'] = tags.map(([k]) => k)
  return out
}

function check(action: string, resource: string, context?: Record<string, string[]>): Check {
  return context ? { action, resource, context } : { action, resource }
}

const any =
  (action: string): Rule =>
  () => [check(action, '*')]

// ---- EC2 (ec2Query) ----

interface Ec2State {
  securityGroups?: { groupId: string; tags?: Tags }[]
  launchTemplates?: {
    launchTemplateId: string
    launchTemplateName: string
    defaultVersion?: number
    tags?: Tags
    versions?: { versionNumber: number; data?: LaunchTemplateData }[]
  }[]
  instances?: { instanceId: string; tags?: Tags }[]
  vpcs?: { vpcId: string }[]
  volumes?: {
    volumeId: string
    availabilityZone?: string
    size?: number
    volumeType?: string
    tags?: Tags
    attachment?: { instanceId: string }
  }[]
  snapshots?: { snapshotId: string; tags?: Tags }[]
}

/** The parts of a launch template version's data that authorization reads. */
interface LaunchTemplateData {
  IamInstanceProfile?: { Arn?: string; Name?: string }
  ImageId?: string
  SecurityGroupIds?: string[]
  TagSpecifications?: { ResourceType?: string; Tags?: { Key?: string; Value?: string }[] }[]
}

function ec2Arn(r: RequestView, type: string, id: string): string {
  // images and snapshots have no account in their ARN (Service Authorization Reference)
  return `arn:${r.partition}:ec2:${r.region}:${type === 'image' || type === 'snapshot' ? '' : r.account}:${type}/${id}`
}

const EC2_TYPES: [RegExp, string][] = [
  [/^i-/, 'instance'],
  [/^sg-/, 'security-group'],
  [/^lt-/, 'launch-template'],
  [/^vpc-/, 'vpc'],
  [/^subnet-/, 'subnet'],
  [/^ami-/, 'image'],
  [/^vol-/, 'volume'],
  [/^snap-/, 'snapshot']
]

function ec2Tags(r: RequestView, id: string): Tags | undefined {
  const s = (r.state('ec2') ?? {}) as Ec2State
  return (
    s.instances?.find((i) => i.instanceId === id)?.tags ??
    s.securityGroups?.find((g) => g.groupId === id)?.tags ??
    s.launchTemplates?.find((t) => t.launchTemplateId === id)?.tags ??
    s.volumes?.find((v) => v.volumeId === id)?.tags ??
    s.snapshots?.find((x) => x.snapshotId === id)?.tags
  )
}

/** ec2:Region and the resource's tags. */
function ec2Context(r: RequestView, id?: string): Record<string, string[]> {
  return { 'ec2:region': [r.region], ...(id ? resourceTags(ec2Tags(r, id), 'ec2') : {}) }
}

function ec2Resource(action: string, type: string, param: string): Rule {
  return (r) => {
    const id = r.param(param) ?? '*'
    return [check(action, ec2Arn(r, type, id), ec2Context(r, id))]
  }
}

/** TagSpecification.N.Tag.M for resources of `type` on a create. */
function tagSpecifications(r: RequestView, type: string): [string, string][] {
  const out: [string, string][] = []
  for (let n = 1; r.param(`TagSpecification.${n}.ResourceType`) !== undefined; n++) {
    if (r.param(`TagSpecification.${n}.ResourceType`) !== type) continue
    for (let m = 1; r.param(`TagSpecification.${n}.Tag.${m}.Key`) !== undefined; m++) {
      out.push([
        r.param(`TagSpecification.${n}.Tag.${m}.Key`) ?? '',
        r.param(`TagSpecification.${n}.Tag.${m}.Value`) ?? ''
      ])
    }
  }
  return out
}

/**
 * Tags in TagSpecifications are applied with ec2:CreateTags on the new resource, with
 * ec2:CreateAction naming the create (EC2 User Guide, "Grant permission to tag resources during
 * creation"); no tags, no check.
 */
function tagOnCreate(r: RequestView, type: string, createAction: string): Check[] {
  const tags = tagSpecifications(r, type)
  if (tags.length === 0) return []
  return [
    check('ec2:CreateTags', ec2Arn(r, type, '*'), {
      ...ec2Context(r),
      ...requestTags(tags),
      'ec2:createaction': [createAction]
    })
  ]
}

function launchTemplateId(r: RequestView): string {
  const id = r.param('LaunchTemplateId')
  if (id) return id
  const name = r.param('LaunchTemplateName')
  const s = (r.state('ec2') ?? {}) as Ec2State
  return s.launchTemplates?.find((t) => t.launchTemplateName === name)?.launchTemplateId ?? '*'
}

function ec2Tagging(action: string): Rule {
  return (r) => {
    const tags: [string, string | undefined][] = []
    for (let n = 1; r.param(`Tag.${n}.Key`) !== undefined; n++)
      tags.push([
        r.param(`Tag.${n}.Key`) ?? '',
        r.param(`Tag.${n}.Value`) ?? (action === 'ec2:CreateTags' ? '' : undefined)
      ])
    return r.params('ResourceId.').map((id) => {
      const type = EC2_TYPES.find(([re]) => re.test(id))?.[1] ?? 'instance'
      return check(action, ec2Arn(r, type, id), { ...ec2Context(r, id), ...requestTags(tags) })
    })
  }
}

/**
 * RunInstances (EC2 User Guide, "Launch instances (RunInstances)" policy examples): ec2:RunInstances
 * on the image, the subnet, the security groups, the instance, network interface and volume, and
 * the launch template when one is used (ec2:LaunchTemplate); ec2:CreateTags for tags on create;
 * iam:PassRole on the role of the instance profile (passed to ec2.amazonaws.com).
 */
function runInstancesChecks(r: RequestView): Check[] {
  const s = (r.state('ec2') ?? {}) as Ec2State
  const templateRef = r.param('LaunchTemplate.LaunchTemplateId') ?? r.param('LaunchTemplate.LaunchTemplateName')
  const template = templateRef
    ? s.launchTemplates?.find((t) => t.launchTemplateId === templateRef || t.launchTemplateName === templateRef)
    : undefined
  const version = r.param('LaunchTemplate.Version')
  const number =
    version === '$Latest'
      ? Math.max(0, ...(template?.versions ?? []).map((v) => v.versionNumber))
      : version && /^\d+$/.test(version)
        ? Number(version)
        : template?.defaultVersion
  const data = template?.versions?.find((v) => v.versionNumber === number)?.data
  const templateArn = templateRef ? ec2Arn(r, 'launch-template', template?.launchTemplateId ?? templateRef) : undefined
  const via = (id?: string): Record<string, string[]> => ({
    ...ec2Context(r, id),
    ...(templateArn ? { 'ec2:launchtemplate': [templateArn] } : {})
  })
  const image = r.param('ImageId') ?? data?.ImageId
  const groups = r.params('SecurityGroupId.').length > 0 ? r.params('SecurityGroupId.') : (data?.SecurityGroupIds ?? [])
  const subnet = r.param('SubnetId')
  const checks = [
    ...(templateArn ? [check('ec2:RunInstances', templateArn, via(template?.launchTemplateId))] : []),
    check('ec2:RunInstances', ec2Arn(r, 'image', image?.startsWith('ami-') ? image : '*'), via()),
    ...(subnet ? [check('ec2:RunInstances', ec2Arn(r, 'subnet', subnet), via())] : []),
    ...groups.map((id) => check('ec2:RunInstances', ec2Arn(r, 'security-group', id), via(id))),
    ...['instance', 'network-interface', 'volume'].map((type) =>
      check('ec2:RunInstances', ec2Arn(r, type, '*'), {
        ...via(),
        ...(type === 'instance' ? requestTags(tagSpecifications(r, 'instance')) : {})
      })
    ),
    ...tagOnCreate(r, 'instance', 'RunInstances'),
    ...tagOnCreate(r, 'volume', 'RunInstances')
  ]
  const profile =
    r.param('IamInstanceProfile.Name') !== undefined || r.param('IamInstanceProfile.Arn') !== undefined
      ? { Name: r.param('IamInstanceProfile.Name'), Arn: r.param('IamInstanceProfile.Arn') }
      : data?.IamInstanceProfile
  if (profile) {
    const iam = (r.state('iam') ?? {}) as IamState
    const name = profile.Name ?? profile.Arn?.split('/').pop()
    const roleName = iam.instanceProfiles?.find((p) => p.name === name)?.roles[0]
    const role = iam.roles?.find((x) => x.roleName === roleName)?.arn
    if (role) checks.push(check('iam:PassRole', role, { 'iam:passedtoservice': ['ec2.amazonaws.com'] }))
  }
  return checks
}

/** A volume's own condition keys (ec2:AvailabilityZone, ec2:VolumeType, ec2:VolumeSize, ec2:VolumeID). */
function volumeContext(r: RequestView, id: string): Record<string, string[]> {
  const v = ((r.state('ec2') ?? {}) as Ec2State).volumes?.find((x) => x.volumeId === id)
  return {
    ...ec2Context(r, id),
    'ec2:volumeid': [id],
    ...(v?.availabilityZone ? { 'ec2:availabilityzone': [v.availabilityZone] } : {}),
    ...(v?.volumeType ? { 'ec2:volumetype': [v.volumeType] } : {}),
    ...(v?.size !== undefined ? { 'ec2:volumesize': [String(v.size)] } : {})
  }
}

/**
 * AttachVolume and DetachVolume: the action on the instance and on the volume, each with its own tags
 * (ec2:ResourceTag/<key>, aws:ResourceTag/<key>). DetachVolume may leave the instance out: the
 * volume's attachment names it.
 */
function volumeAttachment(action: string): Rule {
  return (r) => {
    const volumeId = r.param('VolumeId') ?? '*'
    const attached = ((r.state('ec2') ?? {}) as Ec2State).volumes?.find((v) => v.volumeId === volumeId)?.attachment
    const instanceId = r.param('InstanceId') ?? attached?.instanceId ?? '*'
    return [
      check(action, ec2Arn(r, 'instance', instanceId), ec2Context(r, instanceId)),
      check(action, ec2Arn(r, 'volume', volumeId), volumeContext(r, volumeId))
    ]
  }
}

/** CreateVolume: on the new volume (its request tags and own keys), on the snapshot it starts from, tags on create. */
function createVolumeChecks(r: RequestView): Check[] {
  const snapshot = r.param('SnapshotId')
  const optional = (key: string, value: string | undefined): Record<string, string[]> =>
    value === undefined ? {} : { [key]: [value] }
  return [
    check('ec2:CreateVolume', ec2Arn(r, 'volume', '*'), {
      ...ec2Context(r),
      ...requestTags(tagSpecifications(r, 'volume')),
      ...optional('ec2:availabilityzone', r.param('AvailabilityZone')),
      'ec2:volumetype': [r.param('VolumeType') ?? 'gp2'],
      ...optional('ec2:volumesize', r.param('Size')),
      'ec2:encrypted': [r.param('Encrypted') ?? 'false']
    }),
    ...(snapshot ? [check('ec2:CreateVolume', ec2Arn(r, 'snapshot', snapshot), ec2Context(r, snapshot))] : []),
    ...tagOnCreate(r, 'volume', 'CreateVolume')
  ]
}

const EC2: Record<string, Rule> = {
  DescribeVpcs: any('ec2:DescribeVpcs'),
  DescribeRouteTables: any('ec2:DescribeRouteTables'),
  // the one describe the Service Authorization Reference scopes to a resource (vpc*)
  DescribeVpcAttribute: ec2Resource('ec2:DescribeVpcAttribute', 'vpc', 'VpcId'),
  DescribeSubnets: any('ec2:DescribeSubnets'),
  DescribeAvailabilityZones: any('ec2:DescribeAvailabilityZones'),
  DescribeImages: any('ec2:DescribeImages'),
  DescribeSecurityGroups: any('ec2:DescribeSecurityGroups'),
  DescribeLaunchTemplates: any('ec2:DescribeLaunchTemplates'),
  DescribeLaunchTemplateVersions: any('ec2:DescribeLaunchTemplateVersions'),
  DescribeInstances: any('ec2:DescribeInstances'),
  DescribeInstanceTypes: any('ec2:DescribeInstanceTypes'),
  DescribeSpotPriceHistory: any('ec2:DescribeSpotPriceHistory'),
  DescribeAccountAttributes: any('ec2:DescribeAccountAttributes'),
  ModifyVpcAttribute: ec2Resource('ec2:ModifyVpcAttribute', 'vpc', 'VpcId'),
  DeleteVpc: ec2Resource('ec2:DeleteVpc', 'vpc', 'VpcId'),
  CreateSecurityGroup: (r) => [
    check('ec2:CreateSecurityGroup', ec2Arn(r, 'security-group', '*'), {
      ...ec2Context(r),
      ...requestTags(tagSpecifications(r, 'security-group'))
    }),
    check('ec2:CreateSecurityGroup', ec2Arn(r, 'vpc', r.param('VpcId') ?? '*'), ec2Context(r)),
    ...tagOnCreate(r, 'security-group', 'CreateSecurityGroup')
  ],
  DeleteSecurityGroup: ec2Resource('ec2:DeleteSecurityGroup', 'security-group', 'GroupId'),
  // On the group and on the rules it makes (the Service Authorization Reference lists security-group-rule too;
  // a policy scoped to security-group/* alone is refused on the new rule).
  AuthorizeSecurityGroupIngress: (r) => [
    ...ec2Resource('ec2:AuthorizeSecurityGroupIngress', 'security-group', 'GroupId')(r),
    check('ec2:AuthorizeSecurityGroupIngress', ec2Arn(r, 'security-group-rule', '*'), {
      ...ec2Context(r),
      ...requestTags(tagSpecifications(r, 'security-group-rule'))
    })
  ],
  RevokeSecurityGroupIngress: ec2Resource('ec2:RevokeSecurityGroupIngress', 'security-group', 'GroupId'),
  AuthorizeSecurityGroupEgress: ec2Resource('ec2:AuthorizeSecurityGroupEgress', 'security-group', 'GroupId'),
  RevokeSecurityGroupEgress: ec2Resource('ec2:RevokeSecurityGroupEgress', 'security-group', 'GroupId'),
  CreateLaunchTemplate: (r) => [
    check('ec2:CreateLaunchTemplate', ec2Arn(r, 'launch-template', '*'), {
      ...ec2Context(r),
      ...requestTags(tagSpecifications(r, 'launch-template'))
    }),
    ...tagOnCreate(r, 'launch-template', 'CreateLaunchTemplate')
  ],
  CreateLaunchTemplateVersion: (r) => [
    check(
      'ec2:CreateLaunchTemplateVersion',
      ec2Arn(r, 'launch-template', launchTemplateId(r)),
      ec2Context(r, launchTemplateId(r))
    )
  ],
  ModifyLaunchTemplate: (r) => [
    check(
      'ec2:ModifyLaunchTemplate',
      ec2Arn(r, 'launch-template', launchTemplateId(r)),
      ec2Context(r, launchTemplateId(r))
    )
  ],
  DeleteLaunchTemplate: (r) => [
    check(
      'ec2:DeleteLaunchTemplate',
      ec2Arn(r, 'launch-template', launchTemplateId(r)),
      ec2Context(r, launchTemplateId(r))
    )
  ],
  RunInstances: (r) => runInstancesChecks(r),
  TerminateInstances: (r) =>
    r.params('InstanceId.').map((id) => check('ec2:TerminateInstances', ec2Arn(r, 'instance', id), ec2Context(r, id))),
  ModifyInstanceAttribute: ec2Resource('ec2:ModifyInstanceAttribute', 'instance', 'InstanceId'),
  CreateTags: ec2Tagging('ec2:CreateTags'),
  DeleteTags: ec2Tagging('ec2:DeleteTags'),
  DescribeTags: any('ec2:DescribeTags'),
  // EBS
  CreateVolume: createVolumeChecks,
  DescribeVolumes: any('ec2:DescribeVolumes'),
  DeleteVolume: (r) => {
    const id = r.param('VolumeId') ?? '*'
    return [check('ec2:DeleteVolume', ec2Arn(r, 'volume', id), volumeContext(r, id))]
  },
  AttachVolume: volumeAttachment('ec2:AttachVolume'),
  DetachVolume: volumeAttachment('ec2:DetachVolume'),
  CreateSnapshot: (r) => {
    const volumeId = r.param('VolumeId') ?? '*'
    return [
      check('ec2:CreateSnapshot', ec2Arn(r, 'snapshot', '*'), {
        ...ec2Context(r),
        ...requestTags(tagSpecifications(r, 'snapshot'))
      }),
      check('ec2:CreateSnapshot', ec2Arn(r, 'volume', volumeId), volumeContext(r, volumeId)),
      ...tagOnCreate(r, 'snapshot', 'CreateSnapshot')
    ]
  },
  DescribeSnapshots: any('ec2:DescribeSnapshots'),
  DeleteSnapshot: ec2Resource('ec2:DeleteSnapshot', 'snapshot', 'SnapshotId')
}

// ---- Auto Scaling (awsQuery) ----

interface AsgState {
  groups?: {
    name: string
    arn?: string
    tags?: { key: string; value: string }[]
    instances?: { instanceId?: string }[]
  }[]
}

function asgTags(tags: { key: string; value: string }[] | undefined): Tags {
  return Object.fromEntries((tags ?? []).map((t) => [t.key, t.value]))
}

function asgCheck(action: string, r: RequestView, name: string | undefined): Check {
  const group = ((r.state('autoscaling') ?? {}) as AsgState).groups?.find((g) => g.name === name)
  const arn =
    group?.arn ??
    `arn:${r.partition}:autoscaling:${r.region}:${r.account}:autoScalingGroup:*:autoScalingGroupName/${name ?? '*'}`
  return check(action, arn, resourceTags(asgTags(group?.tags), 'autoscaling'))
}

function asgTagList(r: RequestView): [string, string][] {
  const out: [string, string][] = []
  for (let n = 1; r.param(`Tags.member.${n}.Key`) !== undefined; n++)
    out.push([r.param(`Tags.member.${n}.Key`) ?? '', r.param(`Tags.member.${n}.Value`) ?? ''])
  return out
}

const asgByName =
  (action: string): Rule =>
  (r) => [asgCheck(action, r, r.param('AutoScalingGroupName'))]

interface IamState {
  roles?: { roleName: string; arn: string }[]
  instanceProfiles?: { name: string; arn: string; roles: string[] }[]
}

/** The launch template a group request names (LaunchTemplate, or the mixed instances policy's). */
function launchTemplateSpec(r: RequestView): { id?: string; name?: string; version?: string } | undefined {
  for (const prefix of ['LaunchTemplate.', 'MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.']) {
    const id = r.param(`${prefix}LaunchTemplateId`)
    const name = r.param(`${prefix}LaunchTemplateName`)
    if (id || name)
      return {
        ...(id ? { id } : {}),
        ...(name ? { name } : {}),
        ...(r.param(`${prefix}Version`) ? { version: r.param(`${prefix}Version`) } : {})
      }
  }
  return undefined
}

/**
 * What a launch from the template uses, validated as RunInstances would be (the Auto Scaling User
 * Guide's "Permissions validation for ec2:RunInstances and iam:PassRole"): ec2:RunInstances on the
 * image, the group's subnets, the template's security groups and the instance, network interface
 * and volume it makes (each with ec2:LaunchTemplate), and ec2:CreateTags with ec2:CreateAction
 * RunInstances for the instance and volume tags of the template's TagSpecifications.
 */
function launchResources(r: RequestView, template: string, data: LaunchTemplateData | undefined): Check[] {
  const via = (id?: string): Record<string, string[]> => ({ ...ec2Context(r, id), 'ec2:launchtemplate': [template] })
  const image = data?.ImageId?.startsWith('ami-') ? data.ImageId : '*'
  const subnets = (r.param('VPCZoneIdentifier') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  const groups = data?.SecurityGroupIds ?? []
  const checks = [
    check('ec2:RunInstances', ec2Arn(r, 'image', image), via()),
    ...subnets.map((id) => check('ec2:RunInstances', ec2Arn(r, 'subnet', id), via())),
    ...groups.map((id) => check('ec2:RunInstances', ec2Arn(r, 'security-group', id), via(id))),
    ...['instance', 'network-interface', 'volume'].map((type) => check('ec2:RunInstances', ec2Arn(r, type, '*'), via()))
  ]
  for (const type of ['instance', 'volume']) {
    const tags = (data?.TagSpecifications ?? [])
      .filter((t) => t.ResourceType === type)
      .flatMap((t) => (t.Tags ?? []).map((tag): [string, string] => [tag.Key ?? '', tag.Value ?? '']))
    if (tags.length > 0)
      checks.push(
        check('ec2:CreateTags', ec2Arn(r, type, '*'), {
          ...ec2Context(r),
          ...requestTags(tags),
          'ec2:createaction': ['RunInstances']
        })
      )
  }
  return checks
}

/**
 * Creating or updating a group with a launch template needs ec2:RunInstances, and iam:PassRole for
 * the role of the template's instance profile (passed to ec2.amazonaws.com): the Auto Scaling User
 * Guide's "Amazon EC2 Auto Scaling API permissions". Auto Scaling words the denial its own way.
 */
function launchTemplateUse(r: RequestView): Check[] {
  const spec = launchTemplateSpec(r)
  if (!spec) return []
  const template = ((r.state('ec2') ?? {}) as Ec2State).launchTemplates?.find(
    (t) => t.launchTemplateId === spec.id || t.launchTemplateName === spec.name
  )
  const arn = ec2Arn(r, 'launch-template', template?.launchTemplateId ?? spec.id ?? '*')
  const message = `You are not authorized to use launch template: ${template?.launchTemplateName ?? spec.name ?? spec.id ?? ''}`
  const checks: Check[] = [
    {
      // the template's own tags too: ec2:ResourceTag/<key> applies to the launch-template resource of RunInstances
      ...check('ec2:RunInstances', arn, {
        ...ec2Context(r, template?.launchTemplateId),
        'ec2:launchtemplate': [arn]
      }),
      message
    }
  ]
  const versions = template?.versions ?? []
  const number =
    spec.version === '$Latest'
      ? Math.max(0, ...versions.map((v) => v.versionNumber))
      : spec.version && /^\d+$/.test(spec.version)
        ? Number(spec.version)
        : template?.defaultVersion
  const data = versions.find((v) => v.versionNumber === number)?.data
  checks.push(...launchResources(r, arn, data).map((c) => ({ ...c, message })))
  const profile = data?.IamInstanceProfile
  if (profile) {
    const iam = (r.state('iam') ?? {}) as IamState
    const name = profile.Name ?? profile.Arn?.split('/').pop()
    const roleName = iam.instanceProfiles?.find((p) => p.name === name)?.roles[0]
    const role = iam.roles?.find((x) => x.roleName === roleName)?.arn
    if (role) checks.push({ ...check('iam:PassRole', role, { 'iam:passedtoservice': ['ec2.amazonaws.com'] }), message })
  }
  return checks
}

/**
 * The account's first group makes Auto Scaling create its service-linked role, which needs
 * iam:CreateServiceLinkedRole (with iam:AWSServiceName) from the caller (Auto Scaling User Guide,
 * "Service-linked roles"); once the role exists, nothing more.
 */
function serviceLinkedRoleCreation(r: RequestView): Check[] {
  const role = AUTOSCALING_SERVICE_LINKED_ROLE
  if (((r.state('iam') ?? {}) as IamState).roles?.some((x) => x.roleName === role.roleName)) return []
  return [
    check('iam:CreateServiceLinkedRole', serviceLinkedRoleArn(role, r.account, r.partition), {
      'iam:awsservicename': [role.service]
    })
  ]
}

const AUTOSCALING: Record<string, Rule> = {
  DescribeAutoScalingGroups: any('autoscaling:DescribeAutoScalingGroups'),
  DescribeAutoScalingInstances: any('autoscaling:DescribeAutoScalingInstances'),
  DescribeTags: any('autoscaling:DescribeTags'),
  DescribeInstanceRefreshes: any('autoscaling:DescribeInstanceRefreshes'),
  DescribeScalingActivities: any('autoscaling:DescribeScalingActivities'),
  DescribeLifecycleHooks: any('autoscaling:DescribeLifecycleHooks'),
  CreateAutoScalingGroup: (r) => {
    const c = asgCheck('autoscaling:CreateAutoScalingGroup', r, r.param('AutoScalingGroupName'))
    const targetGroups = asgWithTargetGroups('autoscaling:CreateAutoScalingGroup')(r)[0]?.context
    return [
      { ...c, context: { ...c.context, ...targetGroups, ...requestTags(asgTagList(r)) } },
      ...launchTemplateUse(r),
      ...serviceLinkedRoleCreation(r)
    ]
  },
  UpdateAutoScalingGroup: (r) => [
    asgCheck('autoscaling:UpdateAutoScalingGroup', r, r.param('AutoScalingGroupName')),
    ...launchTemplateUse(r)
  ],
  DeleteAutoScalingGroup: asgByName('autoscaling:DeleteAutoScalingGroup'),
  SetDesiredCapacity: asgByName('autoscaling:SetDesiredCapacity'),
  StartInstanceRefresh: asgByName('autoscaling:StartInstanceRefresh'),
  CancelInstanceRefresh: asgByName('autoscaling:CancelInstanceRefresh'),
  RollbackInstanceRefresh: asgByName('autoscaling:RollbackInstanceRefresh'),
  PutLifecycleHook: asgByName('autoscaling:PutLifecycleHook'),
  DeleteLifecycleHook: asgByName('autoscaling:DeleteLifecycleHook'),
  CompleteLifecycleAction: asgByName('autoscaling:CompleteLifecycleAction'),
  RecordLifecycleActionHeartbeat: asgByName('autoscaling:RecordLifecycleActionHeartbeat'),
  SetInstanceHealth: asgOfInstance('autoscaling:SetInstanceHealth'),
  CreateOrUpdateTags: (r) => groupsOfTags(r, 'autoscaling:CreateOrUpdateTags'),
  DeleteTags: (r) => groupsOfTags(r, 'autoscaling:DeleteTags'),
  TerminateInstanceInAutoScalingGroup: asgOfInstance('autoscaling:TerminateInstanceInAutoScalingGroup'),
  EnterStandby: asgByName('autoscaling:EnterStandby'),
  ExitStandby: asgByName('autoscaling:ExitStandby'),
  AttachLoadBalancerTargetGroups: asgWithTargetGroups('autoscaling:AttachLoadBalancerTargetGroups'),
  DetachLoadBalancerTargetGroups: asgWithTargetGroups('autoscaling:DetachLoadBalancerTargetGroups'),
  DescribeLoadBalancerTargetGroups: any('autoscaling:DescribeLoadBalancerTargetGroups'),
  AttachTrafficSources: asgByName('autoscaling:AttachTrafficSources'),
  DetachTrafficSources: asgByName('autoscaling:DetachTrafficSources'),
  DescribeTrafficSources: any('autoscaling:DescribeTrafficSources')
}

/** An action on a group that names target groups (TargetGroupARNs.member.N): autoscaling:TargetGroupARNs carries them. */
function asgWithTargetGroups(action: string): Rule {
  return (r) => {
    const arns: string[] = []
    for (let n = 1; r.param(`TargetGroupARNs.member.${n}`) !== undefined; n++)
      arns.push(r.param(`TargetGroupARNs.member.${n}`) ?? '')
    const c = asgCheck(action, r, r.param('AutoScalingGroupName'))
    return [{ ...c, context: { ...c.context, ...(arns.length > 0 ? { 'autoscaling:targetgrouparns': arns } : {}) } }]
  }
}

/** An action on an instance (InstanceId) is authorized on the group that holds it. */
function asgOfInstance(action: string): Rule {
  return (r) => {
    const id = r.param('InstanceId')
    const group = ((r.state('autoscaling') ?? {}) as AsgState).groups?.find((g) =>
      (g.instances ?? []).some((i) => i.instanceId === id)
    )
    return [asgCheck(action, r, group?.name)]
  }
}

function groupsOfTags(r: RequestView, action: string): Check[] {
  const names = new Set<string>()
  for (let n = 1; r.param(`Tags.member.${n}.ResourceId`) !== undefined; n++)
    names.add(r.param(`Tags.member.${n}.ResourceId`) ?? '')
  const tags = asgTagList(r)
  return [...names].map((name) => {
    const c = asgCheck(action, r, name)
    return { ...c, context: { ...c.context, ...requestTags(tags) } }
  })
}

// ---- IAM (awsQuery) ----

function roleArn(r: RequestView, name: string | undefined): string {
  const path = r.param('Path') ?? '/'
  return `arn:${r.partition}:iam::${r.account}:role${path}${name ?? '*'}`
}

interface IamRoleState {
  roles?: { roleName: string; arn: string; tags?: Tags }[]
}

/** A role's real ARN (with its path) when it exists, else the ARN its name would have at the root path. */
function existingRoleArn(r: RequestView, name: string | undefined): string {
  const role = ((r.state('iam') ?? {}) as IamRoleState).roles?.find((x) => x.roleName === name)
  return role?.arn ?? roleArn(r, name)
}

/** The role's ARN (its real path when it exists) and its tags as aws:ResourceTag / iam:ResourceTag. */
function iamRole(action: string, extra?: (r: RequestView) => Record<string, string[]>): Rule {
  return (r) => {
    const name = r.param('RoleName')
    const role =
      action === 'iam:CreateRole'
        ? undefined
        : ((r.state('iam') ?? {}) as IamRoleState).roles?.find((x) => x.roleName === name)
    return [check(action, role?.arn ?? roleArn(r, name), { ...resourceTags(role?.tags, 'iam'), ...extra?.(r) })]
  }
}

function iamTagList(r: RequestView): [string, string][] {
  const out: [string, string][] = []
  for (let n = 1; r.param(`Tags.member.${n}.Key`) !== undefined; n++)
    out.push([r.param(`Tags.member.${n}.Key`) ?? '', r.param(`Tags.member.${n}.Value`) ?? ''])
  return out
}

const policyArnContext = (r: RequestView): Record<string, string[]> => ({
  'iam:policyarn': [r.param('PolicyArn') ?? '']
})
const policyResource =
  (action: string): Rule =>
  (r) => [check(action, r.param('PolicyArn') ?? '*')]

/** The instance profile a request names, by its real ARN (with its path) when it exists. */
function instanceProfileArn(r: RequestView): string {
  const name = r.param('InstanceProfileName')
  const found = ((r.state('iam') ?? {}) as IamState).instanceProfiles?.find((p) => p.name === name)
  return found?.arn ?? `arn:${r.partition}:iam::${r.account}:instance-profile/${name ?? '*'}`
}

const IAM: Record<string, Rule> = {
  ListRoles: any('iam:ListRoles'),
  ListInstanceProfiles: (r) => [
    check(
      'iam:ListInstanceProfiles',
      `arn:${r.partition}:iam::${r.account}:instance-profile${r.param('PathPrefix') ?? '/'}*`
    )
  ],
  ListInstanceProfilesForRole: iamRole('iam:ListInstanceProfilesForRole'),
  CreateRole: iamRole('iam:CreateRole', (r) => requestTags(iamTagList(r))),
  GetRole: iamRole('iam:GetRole'),
  DeleteRole: iamRole('iam:DeleteRole'),
  PutRolePolicy: iamRole('iam:PutRolePolicy'),
  GetRolePolicy: iamRole('iam:GetRolePolicy'),
  DeleteRolePolicy: iamRole('iam:DeleteRolePolicy'),
  ListRolePolicies: iamRole('iam:ListRolePolicies'),
  AttachRolePolicy: iamRole('iam:AttachRolePolicy', policyArnContext),
  DetachRolePolicy: iamRole('iam:DetachRolePolicy', policyArnContext),
  ListAttachedRolePolicies: iamRole('iam:ListAttachedRolePolicies'),
  TagRole: iamRole('iam:TagRole', (r) => requestTags(iamTagList(r))),
  UntagRole: iamRole('iam:UntagRole', (r) =>
    requestTags(r.params('TagKeys.member.').map((k) => [k, undefined] as [string, undefined]))
  ),
  ListRoleTags: iamRole('iam:ListRoleTags'),
  UpdateAssumeRolePolicy: iamRole('iam:UpdateAssumeRolePolicy'),
  UpdateRole: iamRole('iam:UpdateRole'),
  CreatePolicy: (r) => [
    check(
      'iam:CreatePolicy',
      `arn:${r.partition}:iam::${r.account}:policy${r.param('Path') ?? '/'}${r.param('PolicyName') ?? '*'}`,
      requestTags(iamTagList(r))
    )
  ],
  GetPolicy: policyResource('iam:GetPolicy'),
  DeletePolicy: policyResource('iam:DeletePolicy'),
  CreatePolicyVersion: policyResource('iam:CreatePolicyVersion'),
  GetPolicyVersion: policyResource('iam:GetPolicyVersion'),
  ListPolicyVersions: policyResource('iam:ListPolicyVersions'),
  DeletePolicyVersion: policyResource('iam:DeletePolicyVersion'),
  CreateInstanceProfile: (r) => [
    check(
      'iam:CreateInstanceProfile',
      `arn:${r.partition}:iam::${r.account}:instance-profile${r.param('Path') ?? '/'}${r.param('InstanceProfileName') ?? '*'}`
    )
  ],
  GetInstanceProfile: (r) => [check('iam:GetInstanceProfile', instanceProfileArn(r))],
  DeleteInstanceProfile: (r) => [check('iam:DeleteInstanceProfile', instanceProfileArn(r))],
  AddRoleToInstanceProfile: (r) => [
    check('iam:AddRoleToInstanceProfile', instanceProfileArn(r)),
    check('iam:PassRole', existingRoleArn(r, r.param('RoleName')), { 'iam:passedtoservice': ['ec2.amazonaws.com'] })
  ],
  CreateOpenIDConnectProvider: (r) => [
    check(
      'iam:CreateOpenIDConnectProvider',
      `arn:${r.partition}:iam::${r.account}:oidc-provider/${(r.param('Url') ?? '*').replace(/^https:\/\//, '')}`,
      requestTags(iamTagList(r))
    )
  ],
  GetOpenIDConnectProvider: (r) => [check('iam:GetOpenIDConnectProvider', r.param('OpenIDConnectProviderArn') ?? '*')],
  ListOpenIDConnectProviders: any('iam:ListOpenIDConnectProviders'),
  AddClientIDToOpenIDConnectProvider: (r) => [
    check('iam:AddClientIDToOpenIDConnectProvider', r.param('OpenIDConnectProviderArn') ?? '*')
  ],
  DeleteOpenIDConnectProvider: (r) => [
    check('iam:DeleteOpenIDConnectProvider', r.param('OpenIDConnectProviderArn') ?? '*')
  ],
  RemoveRoleFromInstanceProfile: (r) => [check('iam:RemoveRoleFromInstanceProfile', instanceProfileArn(r))]
}

// ---- STS (awsQuery) ----

const STS: Record<string, Rule> = {
  AssumeRole: (r) => [check('sts:AssumeRole', r.param('RoleArn') ?? '*')],
  DecodeAuthorizationMessage: any('sts:DecodeAuthorizationMessage'),
  // GetCallerIdentity needs no permission: the authorizer answers it even under an explicit deny
  GetCallerIdentity: () => []
}

// ---- Route 53 (REST-XML) ----

function zoneIdFromPath(path: string): string {
  return /\/hostedzone\/([^/]+)/.exec(path)?.[1] ?? '*'
}

function xmlValues(r: RequestView, tag: string): string[] {
  return [...r.text().matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((m) => m[1] ?? '')
}

const zone =
  (action: string): Rule =>
  (r) => [check(action, `arn:${r.partition}:route53:::hostedzone/${zoneIdFromPath(r.path)}`)]

const ROUTE53: Record<string, Rule> = {
  CreateHostedZone: any('route53:CreateHostedZone'),
  ListHostedZones: any('route53:ListHostedZones'),
  ListHostedZonesByName: any('route53:ListHostedZonesByName'),
  ListHostedZonesByVPC: any('route53:ListHostedZonesByVPC'),
  GetHostedZone: zone('route53:GetHostedZone'),
  // Associating a private zone with a VPC reads the VPC too (ec2:DescribeVpcs, a dependent action).
  AssociateVPCWithHostedZone: (r) => [...zone('route53:AssociateVPCWithHostedZone')(r), check('ec2:DescribeVpcs', '*')],
  DisassociateVPCFromHostedZone: zone('route53:DisassociateVPCFromHostedZone'),
  DeleteHostedZone: zone('route53:DeleteHostedZone'),
  ListResourceRecordSets: zone('route53:ListResourceRecordSets'),
  ChangeResourceRecordSets: (r) => {
    const names = xmlValues(r, 'Name').map((n) => n.toLowerCase().replace(/\.$/, ''))
    const context = {
      'route53:changeresourcerecordsetsactions': [...new Set(xmlValues(r, 'Action'))],
      'route53:changeresourcerecordsetsrecordtypes': [...new Set(xmlValues(r, 'Type'))],
      'route53:changeresourcerecordsetsnormalizedrecordnames': [...new Set(names)]
    }
    return [
      check(
        'route53:ChangeResourceRecordSets',
        `arn:${r.partition}:route53:::hostedzone/${zoneIdFromPath(r.path)}`,
        context
      )
    ]
  },
  GetChange: (r) => [
    check('route53:GetChange', `arn:${r.partition}:route53:::change/${/\/change\/([^/]+)/.exec(r.path)?.[1] ?? '*'}`)
  ]
}

// ---- Lambda (REST-JSON) ----

function functionArnOf(r: RequestView, ref: string | undefined): string {
  const m = /^(?:arn:aws[a-z-]*:lambda:([a-z0-9-]+):)?(?:(\d{12}):)?(?:function:)?([^:/]+)/.exec(ref ?? '')
  return `arn:${r.partition}:lambda:${m?.[1] ?? r.region}:${m?.[2] ?? r.account}:function:${m?.[3] ?? '*'}`
}

function pathFunction(r: RequestView): string {
  return functionArnOf(r, /\/functions\/([^/]+)/.exec(r.path)?.[1])
}

const fn =
  (action: string): Rule =>
  (r) => [check(action, pathFunction(r))]

function passRoleToLambda(r: RequestView, role: unknown, functionArn: string): Check[] {
  if (typeof role !== 'string') return []
  return [
    check('iam:PassRole', role, {
      'iam:passedtoservice': ['lambda.amazonaws.com'],
      'iam:associatedresourcearn': [functionArn]
    })
  ]
}

function lambdaTags(tags: unknown): [string, string][] {
  return Object.entries((tags ?? {}) as Record<string, string>)
}

const LAMBDA: Record<string, Rule> = {
  ListFunctions: any('lambda:ListFunctions'),
  CreateFunction: (r) => {
    const body = r.json()
    const arn = functionArnOf(r, String(body.FunctionName ?? ''))
    return [
      check('lambda:CreateFunction', arn, requestTags(lambdaTags(body.Tags))),
      ...passRoleToLambda(r, body.Role, arn)
    ]
  },
  GetFunction: fn('lambda:GetFunction'),
  GetFunctionConfiguration: fn('lambda:GetFunctionConfiguration'),
  DeleteFunction: fn('lambda:DeleteFunction'),
  UpdateFunctionConfiguration: (r) => {
    const arn = pathFunction(r)
    return [check('lambda:UpdateFunctionConfiguration', arn), ...passRoleToLambda(r, r.json().Role, arn)]
  },
  UpdateFunctionCode: fn('lambda:UpdateFunctionCode'),
  AddPermission: fn('lambda:AddPermission'),
  GetPolicy: fn('lambda:GetPolicy'),
  RemovePermission: fn('lambda:RemovePermission'),
  Invoke: fn('lambda:InvokeFunction'),
  TagResource: (r) => [check('lambda:TagResource', pathFunction(r), requestTags(lambdaTags(r.json().Tags)))],
  UntagResource: (r) => [check('lambda:UntagResource', pathFunction(r))],
  ListTags: fn('lambda:ListTags'),
  // Event source mappings: no resource on create and list, the mapping's ARN otherwise; each
  // with lambda:FunctionArn, the function the mapping invokes (or would).
  CreateEventSourceMapping: (r) => [
    check('lambda:CreateEventSourceMapping', '*', {
      'lambda:functionarn': [functionArnOf(r, String(r.json().FunctionName ?? ''))],
      ...requestTags(lambdaTags(r.json().Tags))
    })
  ],
  ListEventSourceMappings: any('lambda:ListEventSourceMappings'),
  GetEventSourceMapping: mapping('lambda:GetEventSourceMapping'),
  UpdateEventSourceMapping: mapping('lambda:UpdateEventSourceMapping'),
  DeleteEventSourceMapping: mapping('lambda:DeleteEventSourceMapping')
}

interface LambdaStateDump {
  eventSourceMappings?: { UUID?: string; FunctionArn?: string }[]
}

/** An event source mapping named by the path's UUID: its ARN and lambda:FunctionArn (the new function's on an update that changes it). */
function mapping(action: string): Rule {
  return (r) => {
    const uuid = /\/event-source-mappings\/([^/]+)/.exec(r.path)?.[1] ?? '*'
    const found = ((r.state('lambda') ?? []) as LambdaStateDump[])
      .flatMap((f) => f.eventSourceMappings ?? [])
      .find((m) => m.UUID === uuid)
    const target = action === 'lambda:UpdateEventSourceMapping' ? r.json().FunctionName : undefined
    const fnArn = typeof target === 'string' ? functionArnOf(r, target) : found?.FunctionArn
    return [
      check(
        action,
        `arn:${r.partition}:lambda:${r.region}:${r.account}:event-source-mapping:${uuid}`,
        fnArn ? { 'lambda:functionarn': [fnArn] } : {}
      )
    ]
  }
}

// ---- EventBridge (JSON 1.1) ----

function ruleArn(r: RequestView, name: unknown, bus: unknown): string {
  const onBus = typeof bus === 'string' && bus !== 'default' && !bus.startsWith('arn:') ? `${bus}/` : ''
  return `arn:${r.partition}:events:${r.region}:${r.account}:rule/${onBus}${typeof name === 'string' ? name : '*'}`
}

const rule =
  (action: string, member = 'Name'): Rule =>
  (r) => [check(action, ruleArn(r, r.json()[member], r.json().EventBusName))]

function eventTags(tags: unknown): [string, string][] {
  return ((tags ?? []) as { Key?: string; Value?: string }[]).map((t) => [t.Key ?? '', t.Value ?? ''])
}

const EVENTS: Record<string, Rule> = {
  ListRules: any('events:ListRules'),
  PutRule: (r) => [
    check('events:PutRule', ruleArn(r, r.json().Name, r.json().EventBusName), requestTags(eventTags(r.json().Tags)))
  ],
  DescribeRule: rule('events:DescribeRule'),
  DeleteRule: rule('events:DeleteRule'),
  EnableRule: rule('events:EnableRule'),
  DisableRule: rule('events:DisableRule'),
  PutTargets: rule('events:PutTargets', 'Rule'),
  RemoveTargets: rule('events:RemoveTargets', 'Rule'),
  ListTargetsByRule: rule('events:ListTargetsByRule', 'Rule'),
  TagResource: (r) => [
    check('events:TagResource', String(r.json().ResourceARN ?? '*'), requestTags(eventTags(r.json().Tags)))
  ],
  ListTagsForResource: (r) => [check('events:ListTagsForResource', String(r.json().ResourceARN ?? '*'))]
}

// ---- CloudWatch Logs (JSON 1.1) ----
// Logs authorizes group-level actions against `log-group:<name>:log-stream:` and stream-level
// ones against `log-group:<name>:log-stream:<stream>`, which is why `log-group:<name>:*` grants both.

function logArn(r: RequestView, group: unknown, stream = ''): string {
  return `arn:${r.partition}:logs:${r.region}:${r.account}:log-group:${typeof group === 'string' ? group : '*'}:log-stream:${stream}`
}

const logGroup =
  (action: string): Rule =>
  (r) => [check(action, logArn(r, r.json().logGroupName))]
const logStream =
  (action: string): Rule =>
  (r) => [check(action, logArn(r, r.json().logGroupName, String(r.json().logStreamName ?? '*')))]

const LOGS: Record<string, Rule> = {
  DescribeLogGroups: (r) => [
    check('logs:DescribeLogGroups', `arn:${r.partition}:logs:${r.region}:${r.account}:log-group:*`)
  ],
  CreateLogGroup: (r) => [
    check(
      'logs:CreateLogGroup',
      logArn(r, r.json().logGroupName),
      requestTags(Object.entries((r.json().tags ?? {}) as Record<string, string>))
    )
  ],
  DeleteLogGroup: logGroup('logs:DeleteLogGroup'),
  PutRetentionPolicy: logGroup('logs:PutRetentionPolicy'),
  DeleteRetentionPolicy: logGroup('logs:DeleteRetentionPolicy'),
  DescribeLogStreams: logGroup('logs:DescribeLogStreams'),
  FilterLogEvents: logGroup('logs:FilterLogEvents'),
  CreateLogStream: logStream('logs:CreateLogStream'),
  PutLogEvents: logStream('logs:PutLogEvents'),
  GetLogEvents: logStream('logs:GetLogEvents')
}

// ---- SSM (JSON 1.1): the parameter path is the resource ----

function parameterArn(r: RequestView, name: unknown): string {
  if (typeof name === 'string' && name.startsWith('arn:')) return name.replace(/(:parameter\/[^:]*):[^/:]*$/, '$1')
  // a name may end in :<version> or :<label>; the resource is the parameter itself
  const text = typeof name === 'string' ? name.replace(/:[^/:]*$/, '') : '*'
  const path = text.replace(/^\//, '')
  // AWS's public parameters (/aws/service/...) belong to no account
  const account = path.startsWith('aws/service/') ? '' : r.account
  return `arn:${r.partition}:ssm:${r.region}:${account}:parameter/${path}`
}

interface SsmParameterState {
  region: string
  name: string
  type?: string
  keyId?: string
  tags?: Tags
}

interface SsmState {
  parameters?: SsmParameterState[]
}

function ssmParameter(r: RequestView, name: unknown): SsmParameterState | undefined {
  const arn = parameterArn(r, name)
  return ((r.state('ssm') ?? {}) as SsmState).parameters?.find(
    (p) => p.region === r.region && parameterArn(r, p.name) === arn
  )
}

/** A SecureString under a customer key needs kms:Decrypt (reads) or kms:Encrypt (puts) on the key; SSM's own key needs nothing. */
function kmsKey(r: RequestView, action: string, keyId: string | undefined): Check[] {
  const arn = customerKeyArn(keyId, r)
  return arn ? [check(action, arn, { 'kms:viaservice': [`ssm.${r.region}.amazonaws.com`] })] : []
}

function parameterRead(r: RequestView, action: string, name: unknown): Check[] {
  const p = ssmParameter(r, name)
  return [
    check(action, parameterArn(r, name), resourceTags(p?.tags, 'ssm')),
    ...(r.json().WithDecryption === true ? kmsKey(r, 'kms:Decrypt', p?.keyId) : [])
  ]
}

function parameterNames(r: RequestView): unknown[] {
  const names = r.json().Names
  return Array.isArray(names) ? names : [names]
}

const parameter =
  (action: string, member = 'Name'): Rule =>
  (r) => [
    check(action, parameterArn(r, r.json()[member]), resourceTags(ssmParameter(r, r.json()[member])?.tags, 'ssm'))
  ]

function ssmTags(tags: unknown): [string, string][] {
  return ((Array.isArray(tags) ? tags : []) as { Key?: string; Value?: string }[]).map((t) => [
    t.Key ?? '',
    t.Value ?? ''
  ])
}

const SSM: Record<string, Rule> = {
  GetParameter: (r) => parameterRead(r, 'ssm:GetParameter', r.json().Name),
  GetParameters: (r) => parameterNames(r).flatMap((name) => parameterRead(r, 'ssm:GetParameters', name)),
  // the path is the resource; each SecureString it returns under a customer key needs kms:Decrypt
  GetParametersByPath: (r) => {
    const path = typeof r.json().Path === 'string' ? (r.json().Path as string) : '*'
    const prefix = path.endsWith('/') ? path : `${path}/`
    const recursive = r.json().Recursive === true
    const keys =
      r.json().WithDecryption === true
        ? (((r.state('ssm') ?? {}) as SsmState).parameters ?? [])
            .filter((p) => p.region === r.region && p.name.startsWith(prefix))
            .filter((p) => recursive || !p.name.slice(prefix.length).includes('/'))
            .map((p) => p.keyId)
        : []
    return [
      check('ssm:GetParametersByPath', parameterArn(r, path.replace(/\/$/, '') || '/')),
      ...[...new Set(keys)].flatMap((k) => kmsKey(r, 'kms:Decrypt', k))
    ]
  },
  DescribeParameters: any('ssm:DescribeParameters'),
  // tags on create are added with ssm:AddTagsToResource too; a SecureString is encrypted under its key
  PutParameter: (r) => {
    const body = r.json()
    const tags = requestTags(ssmTags(body.Tags))
    const arn = parameterArn(r, body.Name)
    const existing = ssmParameter(r, body.Name)
    const type = body.Type ?? existing?.type
    const keyId = typeof body.KeyId === 'string' ? body.KeyId : existing?.keyId
    return [
      check('ssm:PutParameter', arn, { ...tags, ...resourceTags(existing?.tags, 'ssm') }),
      ...(Object.keys(tags).length > 0 ? [check('ssm:AddTagsToResource', arn, tags)] : []),
      ...(type === 'SecureString' ? kmsKey(r, 'kms:Encrypt', keyId) : [])
    ]
  },
  DeleteParameter: parameter('ssm:DeleteParameter'),
  DeleteParameters: (r) =>
    parameterNames(r).map((name) =>
      check('ssm:DeleteParameters', parameterArn(r, name), resourceTags(ssmParameter(r, name)?.tags, 'ssm'))
    ),
  AddTagsToResource: (r) => [
    check('ssm:AddTagsToResource', parameterArn(r, r.json().ResourceId), {
      ...resourceTags(ssmParameter(r, r.json().ResourceId)?.tags, 'ssm'),
      ...requestTags(ssmTags(r.json().Tags))
    })
  ],
  RemoveTagsFromResource: (r) => [
    check('ssm:RemoveTagsFromResource', parameterArn(r, r.json().ResourceId), {
      ...resourceTags(ssmParameter(r, r.json().ResourceId)?.tags, 'ssm'),
      ...requestTags(
        (Array.isArray(r.json().TagKeys) ? (r.json().TagKeys as string[]) : []).map(
          (k) => [k, undefined] as [string, undefined]
        )
      )
    })
  ],
  ListTagsForResource: parameter('ssm:ListTagsForResource', 'ResourceId')
}

// ---- Secrets Manager (JSON 1.1): the secret's full ARN is the resource ----

interface SecretState {
  secrets?: { region: string; name: string; arn: string; tags?: Tags; kmsKeyId?: string }[]
}

/** The secret a SecretId names (name, full or partial ARN); unknown ones as `secret:<name>-??????`. */
function secretOf(r: RequestView, id: unknown): { arn: string; tags?: Tags; kmsKeyId?: string } {
  const ref = typeof id === 'string' ? id : '*'
  const found = ((r.state('secretsmanager') ?? {}) as SecretState).secrets?.find(
    (s) => s.region === r.region && (s.name === ref || s.arn === ref || s.arn.slice(0, -7) === ref)
  )
  if (found) return found
  if (ref.startsWith('arn:')) return { arn: /-[A-Za-z0-9]{6}$/.test(ref) ? ref : `${ref}-??????` }
  return { arn: `arn:${r.partition}:secretsmanager:${r.region}:${r.account}:secret:${ref}-??????` }
}

const secret =
  (action: string): Rule =>
  (r) => {
    const s = secretOf(r, r.json().SecretId)
    return [check(action, s.arn, resourceTags(s.tags, 'secretsmanager'))]
  }

const SECRETSMANAGER: Record<string, Rule> = {
  // the ARN's random suffix is not known before the secret exists: the request is on `<name>-??????`;
  // tags on create need secretsmanager:TagResource too
  CreateSecret: (r) => {
    const arn = secretOf(r, r.json().Name).arn
    const tags = requestTags(ssmTags(r.json().Tags))
    return [
      check('secretsmanager:CreateSecret', arn, tags),
      ...(Object.keys(tags).length > 0 ? [check('secretsmanager:TagResource', arn, tags)] : [])
    ]
  },
  // a secret under a customer key is decrypted with the caller's kms:Decrypt (aws/secretsmanager needs none)
  GetSecretValue: (r) => {
    const s = secretOf(r, r.json().SecretId)
    const key = customerKeyArn(s.kmsKeyId, r)
    return [
      check('secretsmanager:GetSecretValue', s.arn, resourceTags(s.tags, 'secretsmanager')),
      ...(key ? [check('kms:Decrypt', key, { 'kms:viaservice': [`secretsmanager.${r.region}.amazonaws.com`] })] : [])
    ]
  },
  DescribeSecret: secret('secretsmanager:DescribeSecret'),
  PutSecretValue: secret('secretsmanager:PutSecretValue'),
  DeleteSecret: secret('secretsmanager:DeleteSecret'),
  RestoreSecret: secret('secretsmanager:RestoreSecret'),
  ListSecrets: any('secretsmanager:ListSecrets')
}

// ---- ECR (JSON 1.1): the repository is the resource; GetAuthorizationToken has none ----

interface EcrState {
  repositories?: { region: string; name: string; tags?: Tags }[]
}

function ecrRepository(r: RequestView, name: unknown): { arn: string; tags?: Tags } {
  const repo = typeof name === 'string' ? name : '*'
  const found = ((r.state('ecr') ?? {}) as EcrState).repositories?.find((x) => x.region === r.region && x.name === repo)
  return {
    arn: repositoryArn({ partition: r.partition, region: r.region, account: r.account }, repo),
    tags: found?.tags
  }
}

const repository =
  (action: string): Rule =>
  (r) => {
    const repo = ecrRepository(r, r.json().repositoryName)
    return [check(action, repo.arn, resourceTags(repo.tags, 'ecr'))]
  }

/** The repository a tagging call's resourceArn names; an ARN that names none is the resource as given. */
function ecrTagged(r: RequestView): { arn: string; tags?: Tags } {
  const arn = r.json().resourceArn
  const parsed = typeof arn === 'string' ? parseRepositoryArn(arn) : undefined
  if (!parsed) return { arn: typeof arn === 'string' ? arn : '*' }
  const found = ((r.state('ecr') ?? {}) as EcrState).repositories?.find(
    (x) => x.region === parsed.region && x.name === parsed.name
  )
  return { arn: arn as string, tags: found?.tags }
}

const ECR: Record<string, Rule> = {
  GetAuthorizationToken: any('ecr:GetAuthorizationToken'),
  // tags on create need ecr:TagResource too
  CreateRepository: (r) => {
    const arn = ecrRepository(r, r.json().repositoryName).arn
    const tags = requestTags(ssmTags(r.json().tags))
    return [
      check('ecr:CreateRepository', arn, tags),
      ...(Object.keys(tags).length > 0 ? [check('ecr:TagResource', arn, tags)] : [])
    ]
  },
  DescribeRepositories: (r) => {
    const names = r.json().repositoryNames
    const list = Array.isArray(names) ? (names as unknown[]) : typeof names === 'string' ? [names] : ['*']
    return list.map((name) => {
      const repo = ecrRepository(r, name)
      return check('ecr:DescribeRepositories', repo.arn, resourceTags(repo.tags, 'ecr'))
    })
  },
  DeleteRepository: repository('ecr:DeleteRepository'),
  PutImageTagMutability: repository('ecr:PutImageTagMutability'),
  PutImageScanningConfiguration: repository('ecr:PutImageScanningConfiguration'),
  PutLifecyclePolicy: repository('ecr:PutLifecyclePolicy'),
  GetLifecyclePolicy: repository('ecr:GetLifecyclePolicy'),
  DeleteLifecyclePolicy: repository('ecr:DeleteLifecyclePolicy'),
  PutImage: repository('ecr:PutImage'),
  DescribeImages: repository('ecr:DescribeImages'),
  ListImages: repository('ecr:ListImages'),
  BatchDeleteImage: repository('ecr:BatchDeleteImage'),
  // the repository's tags, and the ones the request sets (aws:RequestTag/..., aws:TagKeys) or removes (aws:TagKeys)
  TagResource: (r) => {
    const repo = ecrTagged(r)
    return [
      check('ecr:TagResource', repo.arn, { ...resourceTags(repo.tags, 'ecr'), ...requestTags(ssmTags(r.json().tags)) })
    ]
  },
  UntagResource: (r) => {
    const repo = ecrTagged(r)
    const keys = r.json().tagKeys
    const removed = Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string') : []
    return [
      check('ecr:UntagResource', repo.arn, {
        ...resourceTags(repo.tags, 'ecr'),
        ...requestTags(removed.map((k) => [k, undefined]))
      })
    ]
  },
  ListTagsForResource: (r) => {
    const repo = ecrTagged(r)
    return [check('ecr:ListTagsForResource', repo.arn, resourceTags(repo.tags, 'ecr'))]
  },
  // the registry API docker uses (services/ecr/pull.ts authorizes a pull with the same actions)
  BatchGetImage: repository('ecr:BatchGetImage'),
  GetDownloadUrlForLayer: repository('ecr:GetDownloadUrlForLayer'),
  BatchCheckLayerAvailability: repository('ecr:BatchCheckLayerAvailability')
}

// ---- SQS (JSON 1.0): the queue is the resource; ListQueues has none ----

function queueArn(r: RequestView, name: string | undefined): string {
  return `arn:${r.partition}:sqs:${r.region}:${r.account}:${name ?? '*'}`
}

/** The queue a request's QueueUrl names (its last path segment). */
function queueOfUrl(r: RequestView): string {
  const url = r.json().QueueUrl
  return queueArn(r, typeof url === 'string' ? url.replace(/\/$/, '').split('/').pop() : undefined)
}

const queue =
  (action: string): Rule =>
  (r) => [check(action, queueOfUrl(r))]

function queueTags(tags: unknown): [string, string][] {
  return Object.entries((tags ?? {}) as Record<string, string>)
}

const SQS: Record<string, Rule> = {
  // A queue tagged on creation needs sqs:TagQueue too (SQS Developer Guide, "Tagging on creation").
  CreateQueue: (r) => {
    const arn = queueArn(r, typeof r.json().QueueName === 'string' ? (r.json().QueueName as string) : undefined)
    const tags = requestTags(queueTags(r.json().tags))
    return [
      check('sqs:CreateQueue', arn, tags),
      ...(Object.keys(tags).length > 0 ? [check('sqs:TagQueue', arn, tags)] : [])
    ]
  },
  ListQueues: any('sqs:ListQueues'),
  GetQueueUrl: (r) => [
    check(
      'sqs:GetQueueUrl',
      queueArn(r, typeof r.json().QueueName === 'string' ? (r.json().QueueName as string) : undefined)
    )
  ],
  GetQueueAttributes: queue('sqs:GetQueueAttributes'),
  SetQueueAttributes: queue('sqs:SetQueueAttributes'),
  DeleteQueue: queue('sqs:DeleteQueue'),
  PurgeQueue: queue('sqs:PurgeQueue'),
  TagQueue: (r) => [check('sqs:TagQueue', queueOfUrl(r), requestTags(queueTags(r.json().Tags)))],
  UntagQueue: queue('sqs:UntagQueue'),
  ListQueueTags: queue('sqs:ListQueueTags'),
  SendMessage: queue('sqs:SendMessage'),
  SendMessageBatch: queue('sqs:SendMessage'),
  ReceiveMessage: queue('sqs:ReceiveMessage'),
  DeleteMessage: queue('sqs:DeleteMessage'),
  DeleteMessageBatch: queue('sqs:DeleteMessage'),
  ChangeMessageVisibility: queue('sqs:ChangeMessageVisibility'),
  ChangeMessageVisibilityBatch: queue('sqs:ChangeMessageVisibility')
}

// ---- Elastic Load Balancing v2 (awsQuery) ----

interface ElbState {
  loadBalancers?: { arn: string; tags?: Tags }[]
  targetGroups?: { arn: string; tags?: Tags }[]
  listeners?: { arn: string; tags?: Tags }[]
  rules?: { arn: string; tags?: Tags }[]
}

function elbArn(r: RequestView, path: string): string {
  return `arn:${r.partition}:elasticloadbalancing:${r.region}:${r.account}:${path}`
}

/** A resource named by ARN, with its tags as aws:ResourceTag and elasticloadbalancing:ResourceTag keys. */
function elbResource(action: string, r: RequestView, arn: string | undefined): Check {
  const s = (r.state('elasticloadbalancing') ?? {}) as ElbState
  const found = [
    ...(s.loadBalancers ?? []),
    ...(s.targetGroups ?? []),
    ...(s.listeners ?? []),
    ...(s.rules ?? [])
  ].find((x) => x.arn === arn)
  return check(action, arn ?? '*', resourceTags(found?.tags, 'elasticloadbalancing'))
}

const elbByParam =
  (action: string, param: string): Rule =>
  (r) => [elbResource(action, r, r.param(param))]

function elbTagList(r: RequestView): [string, string][] {
  const out: [string, string][] = []
  for (let n = 1; r.param(`Tags.member.${n}.Key`) !== undefined; n++)
    out.push([r.param(`Tags.member.${n}.Key`) ?? '', r.param(`Tags.member.${n}.Value`) ?? ''])
  return out
}

/**
 * A create: the action on the new resource's ARN (a listener's: its load balancer, a rule's: its listener),
 * and elasticloadbalancing:AddTags on the new resource when it is tagged at creation.
 */
function elbCreate(action: string, arn: (r: RequestView) => string, tagged: (r: RequestView) => string = arn): Rule {
  return (r) => {
    const tags = elbTagList(r)
    const context = requestTags(tags)
    const operation = action.replace(/^elasticloadbalancing:/, '')
    return [
      check(action, arn(r), context),
      ...(tags.length > 0
        ? [
            check('elasticloadbalancing:AddTags', tagged(r), {
              ...context,
              'elasticloadbalancing:createaction': [operation]
            })
          ]
        : [])
    ]
  }
}

const ELBV2: Record<string, Rule> = {
  DescribeLoadBalancers: any('elasticloadbalancing:DescribeLoadBalancers'),
  DescribeLoadBalancerAttributes: any('elasticloadbalancing:DescribeLoadBalancerAttributes'),
  DescribeTargetGroups: any('elasticloadbalancing:DescribeTargetGroups'),
  DescribeTargetGroupAttributes: any('elasticloadbalancing:DescribeTargetGroupAttributes'),
  DescribeTargetHealth: any('elasticloadbalancing:DescribeTargetHealth'),
  DescribeListeners: any('elasticloadbalancing:DescribeListeners'),
  DescribeListenerCertificates: any('elasticloadbalancing:DescribeListenerCertificates'),
  DescribeRules: any('elasticloadbalancing:DescribeRules'),
  DescribeTags: any('elasticloadbalancing:DescribeTags'),
  CreateLoadBalancer: elbCreate('elasticloadbalancing:CreateLoadBalancer', (r) =>
    elbArn(r, `loadbalancer/app/${r.param('Name') ?? '*'}/*`)
  ),
  DeleteLoadBalancer: elbByParam('elasticloadbalancing:DeleteLoadBalancer', 'LoadBalancerArn'),
  ModifyLoadBalancerAttributes: elbByParam('elasticloadbalancing:ModifyLoadBalancerAttributes', 'LoadBalancerArn'),
  CreateTargetGroup: elbCreate('elasticloadbalancing:CreateTargetGroup', (r) =>
    elbArn(r, `targetgroup/${r.param('Name') ?? '*'}/*`)
  ),
  ModifyTargetGroup: elbByParam('elasticloadbalancing:ModifyTargetGroup', 'TargetGroupArn'),
  ModifyTargetGroupAttributes: elbByParam('elasticloadbalancing:ModifyTargetGroupAttributes', 'TargetGroupArn'),
  DeleteTargetGroup: elbByParam('elasticloadbalancing:DeleteTargetGroup', 'TargetGroupArn'),
  RegisterTargets: elbByParam('elasticloadbalancing:RegisterTargets', 'TargetGroupArn'),
  DeregisterTargets: elbByParam('elasticloadbalancing:DeregisterTargets', 'TargetGroupArn'),
  // a listener is authorized on its load balancer, a rule on its listener
  CreateListener: (r) => {
    const lb = elbResource('elasticloadbalancing:CreateListener', r, r.param('LoadBalancerArn'))
    const path = /:loadbalancer\/(.+)$/.exec(lb.resource)?.[1] ?? 'app/*/*'
    return elbCreate(
      'elasticloadbalancing:CreateListener',
      () => lb.resource,
      () => elbArn(r, `listener/${path}/*`)
    )(r).map((c, i) => (i === 0 ? { ...c, context: { ...lb.context, ...c.context } } : c))
  },
  ModifyListener: elbByParam('elasticloadbalancing:ModifyListener', 'ListenerArn'),
  DeleteListener: elbByParam('elasticloadbalancing:DeleteListener', 'ListenerArn'),
  AddListenerCertificates: elbByParam('elasticloadbalancing:AddListenerCertificates', 'ListenerArn'),
  RemoveListenerCertificates: elbByParam('elasticloadbalancing:RemoveListenerCertificates', 'ListenerArn'),
  CreateRule: (r) => {
    const listener = elbResource('elasticloadbalancing:CreateRule', r, r.param('ListenerArn'))
    const path = /:listener\/(.+)$/.exec(listener.resource)?.[1] ?? 'app/*/*/*'
    return elbCreate(
      'elasticloadbalancing:CreateRule',
      () => listener.resource,
      () => elbArn(r, `listener-rule/${path}/*`)
    )(r).map((c, i) => (i === 0 ? { ...c, context: { ...listener.context, ...c.context } } : c))
  },
  ModifyRule: elbByParam('elasticloadbalancing:ModifyRule', 'RuleArn'),
  DeleteRule: elbByParam('elasticloadbalancing:DeleteRule', 'RuleArn'),
  SetRulePriorities: (r) => {
    const arns: string[] = []
    for (let n = 1; r.param(`RulePriorities.member.${n}.RuleArn`) !== undefined; n++)
      arns.push(r.param(`RulePriorities.member.${n}.RuleArn`) ?? '')
    return arns.map((arn) => elbResource('elasticloadbalancing:SetRulePriorities', r, arn))
  },
  AddTags: (r) =>
    r.params('ResourceArns.').map((arn) => {
      const c = elbResource('elasticloadbalancing:AddTags', r, arn)
      return { ...c, context: { ...c.context, ...requestTags(elbTagList(r)) } }
    }),
  RemoveTags: (r) => {
    const keys = r.params('TagKeys.')
    return r.params('ResourceArns.').map((arn) => {
      const c = elbResource('elasticloadbalancing:RemoveTags', r, arn)
      return { ...c, context: { ...c.context, ...(keys.length > 0 ? { 'aws:tagkeys': keys } : {}) } }
    })
  }
}

// ---- ACM (JSON 1.1) ----

interface AcmState {
  certificates?: { arn: string; tags?: Tags }[]
}

function certificateCheck(action: string, r: RequestView, extra?: Record<string, string[]>): Check {
  const arn = typeof r.json().CertificateArn === 'string' ? (r.json().CertificateArn as string) : undefined
  const cert = ((r.state('acm') ?? {}) as AcmState).certificates?.find((c) => c.arn === arn)
  return check(action, arn ?? `arn:${r.partition}:acm:${r.region}:${r.account}:certificate/*`, {
    ...resourceTags(cert?.tags),
    ...extra
  })
}

function acmTags(tags: unknown): [string, string][] {
  return Array.isArray(tags)
    ? (tags as { Key?: unknown; Value?: unknown }[]).map((t) => [String(t.Key), String(t.Value ?? '')])
    : []
}

const ACM: Record<string, Rule> = {
  RequestCertificate: (r) => {
    const body = r.json()
    const names = [
      body.DomainName,
      ...(Array.isArray(body.SubjectAlternativeNames) ? body.SubjectAlternativeNames : [])
    ]
    return [
      check('acm:RequestCertificate', '*', {
        ...requestTags(acmTags(body.Tags)),
        'acm:domainnames': [...new Set(names.filter((n): n is string => typeof n === 'string'))],
        'acm:validationmethod': [typeof body.ValidationMethod === 'string' ? body.ValidationMethod : 'EMAIL'],
        'acm:keyalgorithm': [typeof body.KeyAlgorithm === 'string' ? body.KeyAlgorithm : 'RSA_2048']
      })
    ]
  },
  ListCertificates: any('acm:ListCertificates'),
  DescribeCertificate: (r) => [certificateCheck('acm:DescribeCertificate', r)],
  DeleteCertificate: (r) => [certificateCheck('acm:DeleteCertificate', r)],
  ListTagsForCertificate: (r) => [certificateCheck('acm:ListTagsForCertificate', r)],
  AddTagsToCertificate: (r) => [certificateCheck('acm:AddTagsToCertificate', r, requestTags(acmTags(r.json().Tags)))],
  RemoveTagsFromCertificate: (r) => {
    const keys = acmTags(r.json().Tags).map(([k]) => k)
    return [certificateCheck('acm:RemoveTagsFromCertificate', r, keys.length > 0 ? { 'aws:tagkeys': keys } : {})]
  }
}

// ---- Price List Query API (JSON 1.1): no resource-level permissions ----

const PRICING: Record<string, Rule> = {
  GetProducts: any('pricing:GetProducts'),
  DescribeServices: any('pricing:DescribeServices'),
  GetAttributeValues: any('pricing:GetAttributeValues')
}

/** The table, by signing name and operation. */
export const AUTHORIZATION: Record<string, Record<string, Rule>> = {
  ec2: EC2,
  autoscaling: AUTOSCALING,
  iam: IAM,
  sts: STS,
  route53: ROUTE53,
  lambda: LAMBDA,
  events: EVENTS,
  logs: LOGS,
  ssm: SSM,
  sqs: SQS,
  secretsmanager: SECRETSMANAGER,
  ecr: ECR,
  elasticloadbalancing: ELBV2,
  acm: ACM,
  pricing: PRICING
}

/** The checks one request needs. */
export function checksFor(r: RequestView): Check[] {
  const rule = AUTHORIZATION[r.service]?.[r.operation]
  if (rule) return rule(r)
  const key = `${r.service}.${r.operation}`
  if (!unlisted.has(key)) {
    unlisted.add(key)
    console.error(
      `emulator: ${key} has no row in iam-policy/actions.ts; a role session is authorized for it as ${r.service}:${r.operation} on *`
    )
  }
  return [check(`${r.service}:${r.operation}`, '*')]
}

/** Operations already reported as missing from the table. */
const unlisted = new Set<string>()
