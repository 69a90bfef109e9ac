/** Launch templates and their versions. */
import type {
  CreateLaunchTemplateRequest,
  CreateLaunchTemplateVersionRequest,
  DeleteLaunchTemplateRequest,
  DescribeLaunchTemplatesRequest,
  DescribeLaunchTemplatesResult,
  DescribeLaunchTemplateVersionsRequest,
  DescribeLaunchTemplateVersionsResult,
  LaunchTemplate,
  LaunchTemplateVersion,
  ModifyLaunchTemplateRequest,
  RequestLaunchTemplateData,
  ResponseLaunchTemplateData
} from '@aws-sdk/client-ec2'
import { AwsError } from '../../types.js'
import { newId } from '../../core/ids.js'
import { matchesFilters, paginate, tagFilterValues, tagsFor, toTagList } from './filters.js'
import type { Ec2World, LaunchTemplateRecord, LaunchTemplateVersionRecord } from './model.js'
import { ec2Error } from './errors.js'

const NAME_PATTERN = /^[a-zA-Z0-9().\-/_]{3,128}$/

export interface TemplateRef {
  LaunchTemplateId?: string
  LaunchTemplateName?: string
}

function idNotFound(id: string): AwsError {
  return ec2Error(
    'InvalidLaunchTemplateId.NotFound',
    `The specified launch template, with template ID ${id}, does not exist.`
  )
}

function nameNotFound(name: string): AwsError {
  return ec2Error(
    'InvalidLaunchTemplateName.NotFoundException',
    `The specified launch template, with template name ${name}, does not exist.`
  )
}

/** A launch template by id or name as other calls see it (not yet visible = not found). */
export function findTemplate(world: Ec2World, region: string, ref: TemplateRef): LaunchTemplateRecord {
  const all = [...world.templates.values()].filter((t) => t.region === region && world.visible(t.createdAt))
  if (ref.LaunchTemplateId) {
    const t = all.find((x) => x.launchTemplateId === ref.LaunchTemplateId)
    if (!t) throw idNotFound(ref.LaunchTemplateId)
    return t
  }
  if (ref.LaunchTemplateName) {
    const t = all.find((x) => x.launchTemplateName === ref.LaunchTemplateName)
    if (!t) throw nameNotFound(ref.LaunchTemplateName)
    return t
  }
  throw ec2Error('MissingParameter', 'The request must contain the parameter LaunchTemplateName or LaunchTemplateId')
}

/** Resolves '$Latest', '$Default' or a number. */
export function resolveVersion(t: LaunchTemplateRecord, version: string | undefined): LaunchTemplateVersionRecord {
  const latest = t.versions[t.versions.length - 1]?.versionNumber ?? 1
  const n = !version || version === '$Default' ? t.defaultVersion : version === '$Latest' ? latest : Number(version)
  const found = t.versions.find((v) => v.versionNumber === n)
  if (!found) {
    throw ec2Error(
      'InvalidLaunchTemplateId.VersionNotFound',
      `Could not find launch template version ${version} for launch template ${t.launchTemplateId}`
    )
  }
  return found
}

function validateData(data: RequestLaunchTemplateData | undefined): ResponseLaunchTemplateData {
  if (!data) throw ec2Error('MissingParameter', 'The request must contain the parameter LaunchTemplateData')
  if (data.UserData !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(data.UserData)) {
    throw ec2Error('InvalidUserData.Malformed', 'Invalid BASE64 encoding of user data.')
  }
  const m = data.MetadataOptions
  if (m) {
    const hops = m.HttpPutResponseHopLimit
    if (hops !== undefined && (!Number.isInteger(hops) || hops < 1 || hops > 64))
      throw ec2Error(
        'InvalidParameterValue',
        `Value (${hops}) for parameter httpPutResponseHopLimit is invalid. Valid values are between 1 and 64.`
      )
    const allowed: [string, unknown, string[]][] = [
      ['httpTokens', m.HttpTokens, ['optional', 'required']],
      ['httpEndpoint', m.HttpEndpoint, ['enabled', 'disabled']],
      ['instanceMetadataTags', m.InstanceMetadataTags, ['enabled', 'disabled']],
      ['httpProtocolIpv6', m.HttpProtocolIpv6, ['enabled', 'disabled']]
    ]
    for (const [name, value, values] of allowed)
      if (value !== undefined && !values.includes(String(value)))
        throw ec2Error('InvalidParameterValue', `Value (${String(value)}) for parameter ${name} is invalid.`)
  }
  const copy = structuredClone(data) as ResponseLaunchTemplateData
  if (copy.MetadataOptions) copy.MetadataOptions.State = 'applied'
  return copy
}

function toTemplate(t: LaunchTemplateRecord, world: Ec2World): LaunchTemplate {
  return {
    LaunchTemplateId: t.launchTemplateId,
    LaunchTemplateName: t.launchTemplateName,
    CreateTime: new Date(t.createdAt),
    CreatedBy: `arn:aws:iam::${world.cloud.accountId}:user/emulator`,
    DefaultVersionNumber: t.defaultVersion,
    LatestVersionNumber: t.versions[t.versions.length - 1]?.versionNumber,
    Tags: toTagList(t.tags)
  }
}

function toVersion(t: LaunchTemplateRecord, v: LaunchTemplateVersionRecord, world: Ec2World): LaunchTemplateVersion {
  return {
    LaunchTemplateId: t.launchTemplateId,
    LaunchTemplateName: t.launchTemplateName,
    VersionNumber: v.versionNumber,
    VersionDescription: v.description,
    CreateTime: new Date(v.createdAt),
    CreatedBy: `arn:aws:iam::${world.cloud.accountId}:user/emulator`,
    DefaultVersion: v.versionNumber === t.defaultVersion,
    LaunchTemplateData: v.data
  }
}

export function createLaunchTemplate(
  world: Ec2World,
  region: string,
  input: CreateLaunchTemplateRequest
): { LaunchTemplate: LaunchTemplate } {
  const name = input.LaunchTemplateName ?? ''
  if (!NAME_PATTERN.test(name))
    throw ec2Error('InvalidLaunchTemplateName.MalformedException', `Launch template name ${name} is malformed.`)
  if ([...world.templates.values()].some((t) => t.region === region && t.launchTemplateName === name)) {
    throw ec2Error('InvalidLaunchTemplateName.AlreadyExistsException', `Launch template name already in use.`)
  }
  const now = Date.now()
  const t: LaunchTemplateRecord = {
    launchTemplateId: newId(world.cloud, 'lt-'),
    launchTemplateName: name,
    region,
    createdAt: now,
    defaultVersion: 1,
    versions: [
      {
        versionNumber: 1,
        description: input.VersionDescription,
        createdAt: now,
        data: validateData(input.LaunchTemplateData)
      }
    ],
    tags: tagsFor(input.TagSpecifications, 'launch-template')
  }
  world.templates.set(t.launchTemplateId, t)
  return { LaunchTemplate: toTemplate(t, world) }
}

export function createLaunchTemplateVersion(
  world: Ec2World,
  region: string,
  input: CreateLaunchTemplateVersionRequest
): { LaunchTemplateVersion: LaunchTemplateVersion } {
  const t = findTemplate(world, region, input)
  const data = validateData(input.LaunchTemplateData)
  const base = input.SourceVersion ? resolveVersion(t, input.SourceVersion).data : {}
  const latest = t.versions[t.versions.length - 1]?.versionNumber ?? 0
  const v: LaunchTemplateVersionRecord = {
    versionNumber: latest + 1,
    description: input.VersionDescription,
    createdAt: Date.now(),
    data: { ...structuredClone(base), ...data }
  }
  t.versions.push(v)
  return { LaunchTemplateVersion: toVersion(t, v, world) }
}

export function modifyLaunchTemplate(
  world: Ec2World,
  region: string,
  input: ModifyLaunchTemplateRequest
): { LaunchTemplate: LaunchTemplate } {
  const t = findTemplate(world, region, input)
  if (input.DefaultVersion !== undefined) t.defaultVersion = resolveVersion(t, input.DefaultVersion).versionNumber
  return { LaunchTemplate: toTemplate(t, world) }
}

export function deleteLaunchTemplate(
  world: Ec2World,
  region: string,
  input: DeleteLaunchTemplateRequest
): { LaunchTemplate: LaunchTemplate } {
  const t = findTemplate(world, region, input)
  world.templates.delete(t.launchTemplateId)
  return { LaunchTemplate: toTemplate(t, world) }
}

function templateFilterValues(t: LaunchTemplateRecord, name: string): string[] | undefined {
  if (name === 'launch-template-name') return [t.launchTemplateName]
  if (name === 'create-time') return [new Date(t.createdAt).toISOString()]
  return tagFilterValues(t.tags, name)
}

export function describeLaunchTemplates(
  world: Ec2World,
  region: string,
  input: DescribeLaunchTemplatesRequest
): DescribeLaunchTemplatesResult {
  let list: LaunchTemplateRecord[]
  if (input.LaunchTemplateIds?.length)
    list = input.LaunchTemplateIds.map((id) => findTemplate(world, region, { LaunchTemplateId: id }))
  else if (input.LaunchTemplateNames?.length)
    list = input.LaunchTemplateNames.map((n) => findTemplate(world, region, { LaunchTemplateName: n }))
  else list = [...world.templates.values()].filter((t) => t.region === region && world.visible(t.createdAt))
  const matching = list.filter((t) => matchesFilters(input.Filters, (n) => templateFilterValues(t, n)))
  const { page, nextToken } = paginate(matching, input.MaxResults, input.NextToken)
  return { LaunchTemplates: page.map((t) => toTemplate(t, world)), NextToken: nextToken }
}

function selectVersions(
  t: LaunchTemplateRecord,
  input: DescribeLaunchTemplateVersionsRequest
): LaunchTemplateVersionRecord[] {
  let versions = input.Versions?.length ? input.Versions.map((v) => resolveVersion(t, v)) : [...t.versions]
  if (input.MinVersion) versions = versions.filter((v) => v.versionNumber >= Number(input.MinVersion))
  if (input.MaxVersion) versions = versions.filter((v) => v.versionNumber <= Number(input.MaxVersion))
  return [...new Set(versions)].sort((a, b) => b.versionNumber - a.versionNumber)
}

export function describeLaunchTemplateVersions(
  world: Ec2World,
  region: string,
  input: DescribeLaunchTemplateVersionsRequest
): DescribeLaunchTemplateVersionsResult {
  const t = findTemplate(world, region, input)
  const { page, nextToken } = paginate(selectVersions(t, input), input.MaxResults, input.NextToken)
  return { LaunchTemplateVersions: page.map((v) => toVersion(t, v, world)), NextToken: nextToken }
}

export function templateState(world: Ec2World): unknown {
  return [...world.templates.values()].map((t) => ({
    launchTemplateId: t.launchTemplateId,
    launchTemplateName: t.launchTemplateName,
    region: t.region,
    defaultVersion: t.defaultVersion,
    tags: t.tags,
    versions: t.versions.map((v) => ({ versionNumber: v.versionNumber, data: v.data }))
  }))
}
