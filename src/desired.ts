/**
 * The desired state: what the compose model and the inputs ask for, as plain
 * data. Pure: no I/O, no SDK.
 */
import { createHash } from 'node:crypto'
import type { ComposeModel, ServiceModel } from './compose/model.js'
import { ingressKey, ingressRules, sortIngressRules } from './container-ports.js'
import type { ActionInputs } from './inputs.js'
import {
  PERMISSION_STATEMENT_ID,
  ROLE_POLICY_NAME,
  RULE_TARGET_ID,
  TAGS,
  TAG_PREFIX,
  asgName,
  dnsSearch,
  fit,
  functionName,
  launchTemplateName,
  logGroupName,
  projectTags,
  recordName,
  roleName,
  ruleName,
  securityGroupName,
  serviceTags,
  zoneName
} from './names.js'
import type { Capacity, StackScope } from './names.js'
import type {
  DesiredAsg,
  DesiredLaunchTemplate,
  DesiredProject,
  DesiredService,
  DesiredState,
  IngressRule,
  LaunchTemplateSpec,
  Network
} from './state.js'
import { buildUserData } from './userdata.js'

export const LAMBDA_RUNTIME = 'nodejs22.x'
export const LAMBDA_HANDLER = 'index.handler'
export const LAMBDA_TIMEOUT = 30
export const LAMBDA_MEMORY = 128
/** The states the DNS updater recomputes on (it reads the instances, so extra states are harmless). */
export const WATCHED_STATES = ['running', 'shutting-down', 'stopping', 'stopped', 'terminated']
export const SSM_AMI_PREFIX = 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-'

/** JSON with object keys sorted at every level: equal data gives equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value))
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key])
    return out
  }
  return value
}

export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn'
  if (region.startsWith('us-gov-')) return 'aws-us-gov'
  return 'aws'
}

/** Graviton families (a1, t4g, m7g, c7gn, r8g, x2gd, im4gn, ...) need the arm64 AMI. */
export function isArm(instanceType: string): boolean {
  return /^(a1|[a-z]+\d+g[a-z]*)\./.test(instanceType)
}

export function imageIdFor(instanceType: string, ami: string | undefined): string {
  if (ami) return ami
  return `${SSM_AMI_PREFIX}${isArm(instanceType) ? 'arm64' : 'x86_64'}`
}

export function eventPattern(): string {
  return canonicalJson({
    source: ['aws.ec2'],
    'detail-type': ['EC2 Instance State-change Notification'],
    detail: { state: WATCHED_STATES }
  })
}

export const ASSUME_ROLE_POLICY = canonicalJson({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }]
})

export function logGroupArn(args: { partition: string; region: string; accountId: string; name: string }): string {
  return `arn:${args.partition}:logs:${args.region}:${args.accountId}:log-group:${args.name}`
}

/** The DNS updater's only permissions: its zone, instance reads, its own log group. */
export function rolePolicyDocument(args: { partition: string; zoneId: string; logGroupArn: string }): Record<string, unknown> {
  const zone = args.zoneId.replace(/^\/hostedzone\//, '')
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'ReadInstances', Effect: 'Allow', Action: ['ec2:DescribeInstances'], Resource: '*' },
      {
        Sid: 'WriteRecords',
        Effect: 'Allow',
        Action: ['route53:ChangeResourceRecordSets', 'route53:ListResourceRecordSets'],
        Resource: `arn:${args.partition}:route53:::hostedzone/${zone}`
      },
      { Sid: 'ReadChanges', Effect: 'Allow', Action: ['route53:GetChange'], Resource: `arn:${args.partition}:route53:::change/*` },
      {
        Sid: 'WriteLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: `${args.logGroupArn}:*`
      }
    ]
  }
}

/** The function's environment once the zone id is known (lambda/handler.ts lists these). */
export function functionEnvironment(base: Record<string, string>, zoneId: string): Record<string, string> {
  return { ...base, ZONE_ID: zoneId.replace(/^\/hostedzone\//, '') }
}

export interface LambdaCode {
  zipPath: string
  codeSha256: string
}

function buildProject(inputs: ActionInputs, network: Network, code: LambdaCode): DesiredProject {
  const scope = { project: inputs.project, region: inputs.region }
  const tags = projectTags(scope)
  const partition = partitionOf(inputs.region)
  const zone = zoneName(scope)
  const fn = functionName(scope)
  const rule = ruleName(scope)
  return {
    zone: {
      name: zone,
      vpcId: network.vpcId,
      region: inputs.region,
      callerReference: fit(`hyperform/${zone}/${network.vpcId}`, 120)
    },
    role: { name: roleName(scope), assumeRolePolicy: ASSUME_ROLE_POLICY, tags },
    rolePolicy: { roleName: roleName(scope), policyName: ROLE_POLICY_NAME, partition, region: inputs.region, logGroupName: logGroupName(scope) },
    logGroup: { name: logGroupName(scope), retentionDays: inputs.logRetentionDays, tags },
    function: {
      name: fn,
      roleName: roleName(scope),
      runtime: LAMBDA_RUNTIME,
      handler: LAMBDA_HANDLER,
      timeout: LAMBDA_TIMEOUT,
      memorySize: LAMBDA_MEMORY,
      zipPath: code.zipPath,
      codeSha256: code.codeSha256,
      environment: { PROJECT: inputs.project, ZONE_NAME: zone, RECORD_TTL: String(inputs.dnsTtl) },
      tags
    },
    rule: { name: rule, eventPattern: eventPattern(), description: `hyperform: EC2 state changes -> ${fn}`, tags },
    target: { ruleName: rule, id: RULE_TARGET_ID, functionName: fn },
    permission: {
      functionName: fn,
      statementId: PERMISSION_STATEMENT_ID,
      principal: 'events.amazonaws.com',
      action: 'lambda:InvokeFunction',
      ruleName: rule
    }
  }
}

function spotTypes(primary: string, extra: string[]): string[] {
  const arm = isArm(primary)
  return [...new Set([primary, ...extra.filter((t) => isArm(t) === arm)])]
}

function buildAsgs(args: { scope: StackScope; service: ServiceModel; inputs: ActionInputs; network: Network; instanceType: string }): DesiredAsg[] {
  const { scope, service } = args
  const sizes: Record<Capacity, number> = {
    'on-demand': service.replicas - service.preemptible,
    spot: service.preemptible
  }
  return (['on-demand', 'spot'] as const).map((capacity) => ({
    name: asgName(scope, service.name, capacity),
    capacity,
    size: sizes[capacity],
    subnetIds: [...args.network.subnetIds].sort(),
    instanceTypes: capacity === 'spot' ? spotTypes(args.instanceType, args.inputs.spotInstanceTypes) : [],
    tags: { ...serviceTags(scope, service.name), [TAGS.capacity]: capacity }
  }))
}

function buildService(scope: StackScope, service: ServiceModel, inputs: ActionInputs, network: Network): DesiredService {
  const tags = serviceTags(scope, service.name)
  const instanceType = service.size ?? inputs.instanceType
  const spec: LaunchTemplateSpec = {
    imageId: imageIdFor(instanceType, inputs.ami),
    instanceType,
    userData: buildUserData(service, { resolver: network.resolver, search: dnsSearch(scope) }),
    instanceTags: tags
  }
  return {
    name: service.name,
    image: service.image,
    recordName: recordName(scope, service.name),
    securityGroup: {
      name: securityGroupName(scope, service.name),
      description: `hyperform ${scope.project}/${scope.stack}/${service.name}`,
      vpcId: network.vpcId,
      ingress: ingressRules(service, network.vpcCidr),
      tags
    },
    launchTemplate: { name: launchTemplateName(scope, service.name), spec, tags },
    asgs: buildAsgs({ scope, service, inputs, network, instanceType })
  }
}

export function buildDesired(args: {
  inputs: ActionInputs
  model: ComposeModel
  network: Network
  lambdaCode: LambdaCode
}): DesiredState {
  const { inputs, network } = args
  const scope: StackScope = { project: inputs.project, region: inputs.region, stack: inputs.stack }
  const services = [...args.model.services]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => buildService(scope, s, inputs, network))
  return {
    scope,
    partition: partitionOf(inputs.region),
    network,
    project: buildProject(inputs, network, args.lambdaCode),
    services
  }
}

/** Tag specifications of the instances and volumes a template launches. */
function tagSpecifications(tags: Record<string, string>): Array<{ ResourceType: string; Tags: Array<{ Key: string; Value: string }> }> {
  const list = Object.entries(tags)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([Key, Value]) => ({ Key, Value }))
  return [
    { ResourceType: 'instance', Tags: list },
    { ResourceType: 'volume', Tags: list }
  ]
}

/** The LaunchTemplateData sent to EC2 (plain data; the SDK type has the same shape). */
export function launchTemplateData(spec: LaunchTemplateSpec, securityGroupId: string): Record<string, unknown> {
  return {
    ImageId: spec.imageId,
    InstanceType: spec.instanceType,
    SecurityGroupIds: [securityGroupId],
    UserData: spec.userData,
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 2 },
    TagSpecifications: tagSpecifications(spec.instanceTags)
  }
}

/** The hash stored on the template (tag hyperform:config-hash): equal data, equal hash. */
export function launchTemplateHash(spec: LaunchTemplateSpec, securityGroupId: string): string {
  return createHash('sha256').update(canonicalJson(launchTemplateData(spec, securityGroupId))).digest('hex').slice(0, 32)
}

function shortSha(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32)
}

/** Hash of a security group's ingress rules (tag hyperform:config-hash on the group). */
export function ingressHash(rules: IngressRule[]): string {
  return shortSha(canonicalJson(sortIngressRules(rules).map(ingressKey)))
}

/** Hash of what the compose file sets on an ASG (tag hyperform:config-hash on the group). */
export function asgConfigHash(asg: Pick<DesiredAsg, 'size' | 'instanceTypes' | 'subnetIds'>): string {
  return shortSha(canonicalJson({ size: asg.size, types: asg.instanceTypes, subnets: [...asg.subnetIds].sort() }))
}

/** Readable summary tags on a launch template, so a plan can say what changed without reading versions. */
export const IMAGE_TAG = `${TAG_PREFIX}image`
export const INSTANCE_TYPE_TAG = `${TAG_PREFIX}instance-type`
/** On a launch template: the version the action last made its default (a default set by hand is drift). */
export const VERSION_TAG = `${TAG_PREFIX}version`

export function launchTemplateTags(
  template: Pick<DesiredLaunchTemplate, 'tags' | 'spec'>,
  args: { image: string; securityGroupId: string; hashTag: string }
): Record<string, string> {
  return {
    ...template.tags,
    [args.hashTag]: launchTemplateHash(template.spec, args.securityGroupId),
    [IMAGE_TAG]: args.image.slice(0, 256),
    [INSTANCE_TYPE_TAG]: template.spec.instanceType
  }
}
