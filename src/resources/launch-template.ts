/**
 * A service's launch template. Its tags carry a hash of the default version's
 * data and readable summaries (image, instance type), so a no-op run reads no
 * versions; a change makes a new version and makes it the default.
 */
import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  CreateTagsCommand,
  DeleteLaunchTemplateCommand,
  DescribeLaunchTemplatesCommand,
  ModifyLaunchTemplateCommand,
  paginateDescribeLaunchTemplates
} from '@aws-sdk/client-ec2'
import type { LaunchTemplate, RequestLaunchTemplateData } from '@aws-sdk/client-ec2'
import { errorCode, wrap } from '../aws/errors.js'
import { tolerate, type Aws } from '../aws/send.js'
import { shortSha } from '../json.js'
import { TAGS } from '../names.js'
import type { CurrentState, DesiredService } from '../state.js'
import { buildUserData } from '../userdata.js'
import { SG_NOT_VISIBLE } from './security-group.js'
import type { ConfigChange } from './service-config.js'
import { stackFilters, tagList, tagMap, type KindOps, type Removal, type TemplateRef, type Upsert } from './kind.js'

/** Launch template data as EC2 takes it, except the security group id (known after the group exists). */
export interface LaunchTemplateSpec {
  imageId: string
  instanceType: string
  region: string
  /** The configuration parameter the agent reads (pinned to a version at apply). */
  configName: string
  /** The service's instance profile (by name: no account id needed). */
  instanceProfile: string
  /** 1: containers cannot reach the instance's credentials; 2: they can (x-hyperform aws-credentials). */
  hopLimit: 1 | 2
  /** Tags on the instances and volumes launched from the template. */
  instanceTags: Record<string, string>
}

export interface DesiredLaunchTemplate {
  name: string
  spec: LaunchTemplateSpec
  tags: Record<string, string>
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
  /** Tag hyperform:configuration: the configuration its instances read, when the action made it. */
  configuration?: { hash: string; version: number }
  /** Tag hyperform:role-policy: the hash of the instance role's policy when it was made. */
  rolePolicy?: string
  /** Tag hyperform:metadata-tags: its default version serves the instance's tags in the instance metadata. */
  metadataTags?: boolean
  /** Tag hyperform:build: the parts' hashes of the image it runs, when the action built it. */
  build?: string
}

export type LaunchTemplateChange =
  | Upsert<'launch-template', DesiredLaunchTemplate, CurrentLaunchTemplate>
  | Removal<'launch-template', CurrentLaunchTemplate>

export const LT_NOT_VISIBLE = [
  'InvalidLaunchTemplateId.NotFound',
  'InvalidLaunchTemplateName.NotFoundException',
  'InvalidLaunchTemplateId.NotFoundException'
]

/** Tag specifications of the instances and volumes a template launches. */
function tagSpecifications(
  tags: Record<string, string>
): Array<{ ResourceType: string; Tags: Array<{ Key: string; Value: string }> }> {
  const list = Object.entries(tags)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([Key, Value]) => ({ Key, Value }))
  return [
    { ResourceType: 'instance', Tags: list },
    { ResourceType: 'volume', Tags: list }
  ]
}

/** What a template's data takes besides the spec: ids and versions known once their resources exist. */
export interface TemplateInputs {
  securityGroupId: string
  configVersion: number
}

/**
 * The LaunchTemplateData sent to EC2 (plain data; the SDK type has the same shape). InstanceMetadataTags:
 * the agent reads its group from the instance's tag aws:autoscaling:groupName in the instance metadata,
 * not from the Auto Scaling API (whose per-account rate a storm of replacements would spend). EC2 then
 * fails a launch whose instance tag keys hold other than letters, digits and + - = . , _ : @ (the
 * action's are hyperform:<name> and Auto Scaling's aws:autoscaling:groupName).
 */
export function launchTemplateData(spec: LaunchTemplateSpec, inputs: TemplateInputs): Record<string, unknown> {
  return {
    ImageId: spec.imageId,
    InstanceType: spec.instanceType,
    IamInstanceProfile: { Name: spec.instanceProfile },
    SecurityGroupIds: [inputs.securityGroupId],
    UserData: buildUserData({ region: spec.region, config: { name: spec.configName, version: inputs.configVersion } }),
    MetadataOptions: {
      HttpTokens: 'required',
      HttpEndpoint: 'enabled',
      HttpPutResponseHopLimit: spec.hopLimit,
      InstanceMetadataTags: 'enabled'
    },
    TagSpecifications: tagSpecifications(spec.instanceTags)
  }
}

/** The hash stored on the template (tag hyperform:config-hash): equal data, equal hash. */
export function launchTemplateHash(spec: LaunchTemplateSpec, inputs: TemplateInputs): string {
  return shortSha(launchTemplateData(spec, inputs))
}

/**
 * On a launch template: `enabled` once its default version enables InstanceMetadataTags, so a plan can say
 * why a template made before gets a new version. Apart from TAGS: the DNS updater's bundle does not change.
 */
export const METADATA_TAGS_TAG = 'hyperform:metadata-tags'

function templateTags(service: DesiredService, inputs: TemplateInputs, version: number): Record<string, string> {
  const lt = service.launchTemplate
  return {
    ...lt.tags,
    [TAGS.configHash]: launchTemplateHash(lt.spec, inputs),
    [TAGS.image]: service.image.slice(0, 256),
    [TAGS.instanceType]: lt.spec.instanceType,
    [TAGS.version]: String(version),
    [METADATA_TAGS_TAG]: 'enabled',
    ...agentTags(service, inputs.configVersion)
  }
}

/** What the template says of the service's agent resources: written after them, so they exist as described. */
function agentTags(service: DesiredService, configVersion: number): Record<string, string> {
  return {
    [TAGS.configuration]: `${service.config.hash}@${configVersion}`,
    [TAGS.rolePolicy]: service.instanceRole.hash
  }
}

function configurationOf(tag: string | undefined): { hash: string; version: number } | undefined {
  const match = /^([0-9a-f]+)@(\d+)$/.exec(tag ?? '')
  return match ? { hash: match[1]!, version: Number(match[2]) } : undefined
}

function toLaunchTemplate(t: LaunchTemplate): CurrentLaunchTemplate {
  const tags = tagMap(t.Tags)
  return {
    id: t.LaunchTemplateId ?? '',
    name: t.LaunchTemplateName ?? '',
    service: tags[TAGS.service] ?? '',
    defaultVersion: t.DefaultVersionNumber ?? 1,
    latestVersion: t.LatestVersionNumber ?? 1,
    configHash: tags[TAGS.configHash],
    ...(/^\d+$/.test(tags[TAGS.version] ?? '') ? { actionVersion: Number(tags[TAGS.version]) } : {}),
    image: tags[TAGS.image],
    instanceType: tags[TAGS.instanceType],
    ...(configurationOf(tags[TAGS.configuration]) ? { configuration: configurationOf(tags[TAGS.configuration]) } : {}),
    ...(tags[TAGS.rolePolicy] ? { rolePolicy: tags[TAGS.rolePolicy] } : {}),
    ...(tags[METADATA_TAGS_TAG] === 'enabled' ? { metadataTags: true } : {}),
    ...(tags[TAGS.build] ? { build: tags[TAGS.build] } : {})
  }
}

function templateReason(
  service: DesiredService,
  have: CurrentLaunchTemplate,
  why: { sgNew: boolean; configChanged: boolean }
): string {
  const reasons: string[] = []
  if (have.image !== undefined && have.image !== service.image.slice(0, 256))
    reasons.push(`image ${have.image} -> ${service.image}`)
  const type = service.launchTemplate.spec.instanceType
  if (have.instanceType !== undefined && have.instanceType !== type)
    reasons.push(`instance type ${have.instanceType} -> ${type}`)
  if (why.sgNew) reasons.push('new security group')
  if (have.metadataTags !== true)
    reasons.push('instance metadata tags enabled (the agent reads its Auto Scaling group from them; once per template)')
  if (why.configChanged && reasons.length === 0) reasons.push('configuration changed')
  return reasons.length > 0 ? reasons.join(', ') : 'launch settings changed (AMI, profile, metadata or DNS)'
}

async function newVersion(
  aws: Aws,
  args: { service: DesiredService; templateId: string; inputs: TemplateInputs }
): Promise<TemplateRef> {
  const data = launchTemplateData(args.service.launchTemplate.spec, args.inputs) as RequestLaunchTemplateData
  const out = await aws.retryOn(LT_NOT_VISIBLE, () =>
    aws.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: args.templateId, LaunchTemplateData: data }))
  )
  const version = out.LaunchTemplateVersion?.VersionNumber ?? 0
  await aws.retryOn(LT_NOT_VISIBLE, () =>
    aws.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: args.templateId, DefaultVersion: String(version) }))
  )
  // The hash is written last: if this run dies before, the next one makes the version again.
  await aws.send(
    new CreateTagsCommand({
      Resources: [args.templateId],
      Tags: tagList(templateTags(args.service, args.inputs, version))
    })
  )
  return { id: args.templateId, version }
}

async function adoptTemplate(
  aws: Aws,
  args: { service: DesiredService; inputs: TemplateInputs }
): Promise<TemplateRef> {
  const name = args.service.launchTemplate.name
  const out = await aws.retryOn(LT_NOT_VISIBLE, () =>
    aws.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: [name] }))
  )
  const template = out.LaunchTemplates?.[0]
  if (!template?.LaunchTemplateId) throw new Error(`launch template ${name} exists but cannot be read`)
  const hash = template.Tags?.find((t) => t.Key === TAGS.configHash)?.Value
  if (hash === launchTemplateHash(args.service.launchTemplate.spec, args.inputs))
    return { id: template.LaunchTemplateId, version: template.DefaultVersionNumber ?? 1 }
  return newVersion(aws, { ...args, templateId: template.LaunchTemplateId })
}

async function createTemplate(
  aws: Aws,
  args: { service: DesiredService; inputs: TemplateInputs }
): Promise<TemplateRef> {
  const lt = args.service.launchTemplate
  const create = new CreateLaunchTemplateCommand({
    LaunchTemplateName: lt.name,
    LaunchTemplateData: launchTemplateData(lt.spec, args.inputs) as RequestLaunchTemplateData,
    TagSpecifications: [{ ResourceType: 'launch-template', Tags: tagList(templateTags(args.service, args.inputs, 1)) }]
  })
  try {
    const out = await aws.retryOn(SG_NOT_VISIBLE, () => aws.send(create))
    return { id: out.LaunchTemplate?.LaunchTemplateId ?? '', version: out.LaunchTemplate?.LatestVersionNumber ?? 1 }
  } catch (err) {
    if (errorCode(err) !== 'InvalidLaunchTemplateName.AlreadyExistsException') throw err
    return adoptTemplate(aws, args)
  }
}

/** A service's template as read (its tags stand for the agent resources when they are not verified). */
export function templateOf(current: CurrentState, service: DesiredService): CurrentLaunchTemplate | undefined {
  return current.launchTemplates.find((t) => t.name === service.launchTemplate.name)
}

/** Services whose templates go (not verified: their agent resources go with them, by name). */
export function servicesLeaving(current: CurrentState, keep: { services: Set<string> }): string[] {
  return [...new Set(current.launchTemplates.map((t) => t.service))].filter((s) => s !== '' && !keep.services.has(s))
}

export const launchTemplate: KindOps<'launch-template'> = {
  kind: 'launch-template',
  noun: 'launch template',
  level: 'service',
  dependsOn: ['security-group', 'instance-profile', 'service-config', 'container-log-group'],
  removeAfter: ['auto-scaling-group'],
  async read({ aws, scope }) {
    const templates: CurrentLaunchTemplate[] = []
    try {
      for await (const page of paginateDescribeLaunchTemplates(
        { client: aws.through('ec2'), pageSize: 200 },
        { Filters: stackFilters(scope) }
      )) {
        templates.push(...(page.LaunchTemplates ?? []).map(toLaunchTemplate))
      }
    } catch (err) {
      throw wrap(`listing launch templates of stack ${scope.stack}`, err)
    }
    return { launchTemplates: templates }
  },
  diff({ current, planned }, service) {
    const lt = service.launchTemplate
    // The configuration version the instances read: known now unless this run writes a new one.
    const configChange = planned.find(
      (c): c is ConfigChange => c.kind === 'service-config' && c.service === service.name
    )
    const configVersion = configChange?.action === 'noop' ? configChange.current?.version : undefined
    const have = current.launchTemplates.find((t) => t.name === lt.name)
    const sg = current.securityGroups.find((g) => g.name === service.securityGroup.name)
    const serviceExists = sg !== undefined || service.asgs.some((a) => current.asgs.some((g) => g.name === a.name))
    const base = { kind: 'launch-template' as const, name: lt.name, service: service.name, desired: lt, current: have }
    if (!have)
      return [
        {
          ...base,
          action: 'create',
          reason: `not found; ${lt.spec.instanceType}, ${service.image}`,
          drift: serviceExists
        }
      ]
    if (
      sg &&
      configVersion !== undefined &&
      have.configHash === launchTemplateHash(lt.spec, { securityGroupId: sg.id, configVersion })
    ) {
      const made = have.actionVersion
      const tags = agentTags(service, configVersion)
      if (
        have.rolePolicy !== tags[TAGS.rolePolicy] ||
        `${have.configuration?.hash}@${have.configuration?.version}` !== tags[TAGS.configuration]
      )
        // The role's policy changed alone (a new version of the action): the tags must say so, or every run would redo it.
        return [
          { ...base, action: 'update', reason: 'instance role or configuration tags out of date', fields: ['tags'] }
        ]
      if (made === undefined || made === have.defaultVersion)
        return [{ ...base, action: 'noop', reason: `up to date (version ${have.defaultVersion})` }]
      return [
        {
          ...base,
          action: 'update',
          reason: `default version ${have.defaultVersion} -> ${made} (set outside the action)`,
          fields: ['defaultVersion'],
          drift: true
        }
      ]
    }
    // A security group deleted by hand: the new version only points at its replacement.
    return [
      {
        ...base,
        action: 'update',
        reason: `new version: ${templateReason(service, have, { sgNew: !sg, configChanged: configVersion === undefined })}`,
        fields: ['version'],
        drift: !sg
      }
    ]
  },
  removals({ current, keep, reason }) {
    return current.launchTemplates
      .filter((t) => !keep.names.has(t.name))
      .map((t) => ({
        kind: 'launch-template' as const,
        action: 'delete' as const,
        name: t.name,
        service: t.service,
        reason,
        current: t
      }))
  },
  async apply(change, { e, need, service }) {
    const have = change.current
    if (change.action === 'noop' && have) return { id: have.id, version: have.defaultVersion }
    if (!service) throw new Error(`launch template ${change.name} has no service`)
    const made = have?.actionVersion
    let ref: TemplateRef
    if (have && change.fields?.includes('tags')) {
      const config = await need('service-config')
      await e.send(new CreateTagsCommand({ Resources: [have.id], Tags: tagList(agentTags(service, config.version)) }))
      ref = { id: have.id, version: have.defaultVersion }
    } else if (have && made !== undefined && change.fields?.includes('defaultVersion')) {
      // Drift heal: the default version was changed by hand; make the action's version the default again.
      await e.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: have.id, DefaultVersion: String(made) }))
      ref = { id: have.id, version: made }
    } else {
      const [securityGroupId, config] = await Promise.all([need('security-group'), need('service-config')])
      const args = { service, inputs: { securityGroupId, configVersion: config.version } }
      ref = have ? await newVersion(e, { ...args, templateId: have.id }) : await createTemplate(e, args)
    }
    e.done({
      kind: 'launch-template',
      action: change.action,
      name: change.name,
      service: change.service,
      id: `${ref.id} v${ref.version}`
    })
    return ref
  },
  async remove(changes, { e }) {
    for (const change of changes) {
      const id = change.current?.id
      if (!id) continue
      const deleted = await tolerate(
        ['InvalidLaunchTemplateId.NotFound', 'InvalidLaunchTemplateName.NotFoundException'],
        () => e.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: id }))
      )
      if (deleted) e.done({ kind: 'launch-template', action: 'delete', name: change.name, service: change.service, id })
    }
  }
}
