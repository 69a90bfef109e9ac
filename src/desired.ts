/**
 * The desired state: what the compose model and the inputs ask for, as plain
 * data. Pure: no I/O, no SDK.
 */
import type { ComposeModel, ServiceModel, VolumeModel } from './compose/model.js'
import { ANYWHERE, ingressRules, publicPorts } from './container-ports.js'
import type { ActionInputs } from './inputs.js'
import {
  deadLetterQueueName,
  queueName,
  scheduleRuleName,
  ROLE_POLICY_NAME,
  RULE_TARGET_ID,
  TAGS,
  CAPACITIES,
  asgName,
  configParameterName,
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
  zoneName,
  containerLogGroupName,
  dnsSearch,
  instancePath,
  instanceRoleName,
  LAUNCH_HOOK,
  MANAGED_BY,
  loadBalancerName,
  loadBalancerSecurityGroupName,
  publicHost,
  stackTags,
  targetGroupName
} from './names.js'
import type { Capacity, StackScope } from './names.js'
import { canonicalJson, shortSha } from './json.js'
import { equivalentTypes } from './instance-types.js'
import type { DesiredAsg } from './resources/auto-scaling-group.js'
import type { LaunchTemplateSpec } from './resources/launch-template.js'
import {
  FROM_LOAD_BALANCER,
  type DesiredEndpoint,
  type DesiredProject,
  type DesiredPublic,
  type DesiredService,
  type DesiredState,
  type Network,
  type PublicZone
} from './state.js'
import { agentConfig, instanceGrants, SETTLE_SECONDS } from './agent/build.js'
import { INSTANCE_POLICY_NAME, INSTANCE_TRUST_POLICY } from './resources/instance-role.js'
import { ADVANCED_LIMIT, tierFor } from './resources/service-config.js'
import { volumeName, type DesiredVolume } from './resources/volume.js'
import type { DesiredRepository } from './resources/ecr-repository.js'

export const LAMBDA_RUNTIME = 'nodejs22.x'
export const LAMBDA_HANDLER = 'index.handler'
export const LAMBDA_TIMEOUT = 30
export const LAMBDA_MEMORY = 128
/** The reconcile backstop: a lost event delays a record by this much at most. */
export const RECONCILE_SCHEDULE = 'rate(5 minutes)'
/** Events wait for the DNS updater at most a day (they are worthless after a reconcile anyway). */
export const QUEUE_RETENTION = 86_400
/** Failed events stay in the dead-letter queue for the drift check: 14 days, SQS's longest. */
export const DEAD_LETTER_RETENTION = 1_209_600
/** Receives of a batch before its events move to the dead-letter queue. */
export const MAX_RECEIVES = 5
/**
 * The event source mapping: a reclaim storm of hundreds of events arrives in a few batches
 * of up to BATCH_SIZE gathered over BATCHING_WINDOW seconds, two at a time (Lambda's minimum).
 */
export const BATCH_SIZE = 1000
export const BATCHING_WINDOW = 2
export const BATCH_CONCURRENCY = 2
/** The events the DNS updater recomputes a service on: an EC2 state change, and Auto Scaling's launch done. */
export const EVENT_SOURCES = ['aws.ec2', 'aws.autoscaling']
export const EVENT_DETAIL_TYPES = [
  'EC2 Instance State-change Notification',
  'EC2 Instance Launch Successful',
  // a spot instance's two-minute warning, and EC2's advice that one is at higher risk: it leaves DNS at once
  'EC2 Spot Instance Interruption Warning',
  'EC2 Instance Rebalance Recommendation'
]
export const SSM_AMI_PREFIX = 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-'

/** Graviton families (a1, t4g, m7g, c7gn, r8g, x2gd, im4gn, ...) need the arm64 AMI. */
export function isArm(instanceType: string): boolean {
  return /^(a1|[a-z]+\d+g[a-z]*)\./.test(instanceType)
}

export function imageIdFor(instanceType: string, ami: string | undefined): string {
  if (ami) return ami
  return `${SSM_AMI_PREFIX}${isArm(instanceType) ? 'arm64' : 'x86_64'}`
}

/**
 * The rule's pattern: every EC2 state change, and Auto Scaling's `EC2 Instance
 * Launch Successful` (sent once an instance's launch hook completed: it is in
 * service). A pattern's fields are ANDed and Launch Successful has no
 * detail.state, so the state filter of before goes: the updater reads the
 * instances, and a pending event costs reads, never a write. Each source sends
 * only its own detail-type, so the two lists pair up.
 */
export function eventPattern(): string {
  return canonicalJson({ source: EVENT_SOURCES, 'detail-type': EVENT_DETAIL_TYPES })
}

export const ASSUME_ROLE_POLICY = canonicalJson({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }]
})

export interface LambdaCode {
  zipPath: string
  codeSha256: string
}

function buildProject(inputs: ActionInputs, network: Network, code: LambdaCode): DesiredProject {
  const scope = { project: inputs.project, region: inputs.region }
  const tags = projectTags(scope)
  const zone = zoneName(scope)
  const fn = functionName(scope)
  const rule = ruleName(scope)
  const schedule = scheduleRuleName(scope)
  return {
    zone: {
      name: zone,
      vpcId: network.vpcId,
      region: inputs.region,
      callerReference: fit(`hyperform/${zone}/${network.vpcId}`, 120),
      negativeTtl: inputs.dnsTtl
    },
    role: { name: roleName(scope), assumeRolePolicy: ASSUME_ROLE_POLICY, tags },
    rolePolicy: {
      roleName: roleName(scope),
      policyName: ROLE_POLICY_NAME,
      region: inputs.region,
      project: inputs.project,
      logGroupName: logGroupName(scope),
      queueName: queueName(scope)
    },
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
    rule: {
      name: rule,
      eventPattern: eventPattern(),
      description: `hyperform: EC2 state changes and Auto Scaling launches -> ${queueName(scope)}`,
      tags
    },
    scheduleRule: {
      name: schedule,
      scheduleExpression: RECONCILE_SCHEDULE,
      description: `hyperform: reconcile every record of ${inputs.project}`,
      tags
    },
    deadLetterQueue: {
      name: deadLetterQueueName(scope),
      retentionSeconds: DEAD_LETTER_RETENTION,
      region: inputs.region,
      tags
    },
    queue: {
      name: queueName(scope),
      visibilityTimeout: 6 * LAMBDA_TIMEOUT,
      retentionSeconds: QUEUE_RETENTION,
      maxReceiveCount: MAX_RECEIVES,
      deadLetterQueueName: deadLetterQueueName(scope),
      ruleNames: [rule, schedule],
      region: inputs.region,
      tags
    },
    targets: [rule, schedule].map((ruleName) => ({ ruleName, id: RULE_TARGET_ID, queueName: queueName(scope) })),
    eventSourceMapping: {
      functionName: fn,
      batchSize: BATCH_SIZE,
      batchingWindowSeconds: BATCHING_WINDOW,
      maximumConcurrency: BATCH_CONCURRENCY
    }
  }
}

/**
 * The spot group's types: the primary and the spot-instance-types input's of its architecture when it
 * is set, else the primary and the table's types of the same size (instance-types.ts).
 */
export function spotTypes(primary: string, extra: string[]): string[] {
  if (extra.length === 0) return equivalentTypes(primary)
  const arm = isArm(primary)
  return [...new Set([primary, ...extra.filter((t) => isArm(t) === arm)])]
}

/** Docker's healthcheck defaults (seconds), for a check the image defines. */
const DOCKER_HEALTH = { interval: 30, timeout: 30, retries: 3, startPeriod: 0 }
/** Boot, agent install and image pull before the container starts (seconds). */
const BOOT_ALLOWANCE = 300

/**
 * The launch hook's heartbeat timeout, the backstop when no agent answers: boot and pull, then the
 * health check's start period and every retry, then the settle time. Within AWS's 30..7200 s.
 */
export function launchHookTimeout(check: ServiceModel['healthcheck']): number {
  const s = (ms: number | undefined, fallback: number): number => (ms ? Math.ceil(ms / 1000) : fallback)
  let health = 0
  if (!check || !('disable' in check)) {
    const interval = s(check?.intervalMs, DOCKER_HEALTH.interval)
    const timeout = s(check?.timeoutMs, DOCKER_HEALTH.timeout)
    const retries = check?.retries || DOCKER_HEALTH.retries
    health = s(check?.startPeriodMs, DOCKER_HEALTH.startPeriod) + (retries + 1) * (interval + timeout)
  }
  return Math.min(7200, Math.max(30, BOOT_ALLOWANCE + health + SETTLE_SECONDS))
}

function buildAsgs(args: {
  scope: StackScope
  service: ServiceModel
  inputs: ActionInputs
  network: Network
  instanceType: string
  targetGroups: string[]
  /** A service with volumes launches only in their zone. */
  subnetIds: string[]
}): DesiredAsg[] {
  const { scope, service } = args
  const sizes: Record<Capacity, number> = {
    'on-demand': service.replicas - service.preemptible,
    spot: service.preemptible
  }
  return (['on-demand', 'spot'] as const).map((capacity) => ({
    name: asgName(scope, service.name, capacity),
    capacity,
    size: sizes[capacity],
    subnetIds: [...args.subnetIds].sort(),
    instanceTypes: capacity === 'spot' ? spotTypes(args.instanceType, args.inputs.spotInstanceTypes) : [],
    hook: { name: LAUNCH_HOOK, heartbeatTimeout: launchHookTimeout(service.healthcheck) },
    targetGroups: args.targetGroups,
    tags: { ...serviceTags(scope, service.name), [TAGS.capacity]: capacity },
    // the wait hands instances a spot fallback moved back once spot is in service; without a wait, at once
    ...(capacity === 'on-demand' && args.inputs.spotFallback === 'on-demand' && args.inputs.wait
      ? { holdSpotFallback: true }
      : {})
  }))
}

/** The load balancer's check: the extension's path and codes, a target healthy after two passes 10 s apart. */
export const TARGET_CHECK = {
  path: '/',
  codes: '200-399',
  intervalSeconds: 10,
  timeoutSeconds: 5,
  healthyThreshold: 2,
  unhealthyThreshold: 2
}
/** Seconds a leaving target finishes its requests: within a spot notice (120 s), short for a rollout. */
export const DEREGISTRATION_DELAY = 30
/** The HTTPS listener's TLS policy: TLS 1.3 and 1.2 only. */
export const SSL_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06'

function buildEndpoints(
  scope: StackScope,
  service: ServiceModel,
  network: Network,
  front: { domain: string; zone: PublicZone }
): DesiredEndpoint[] {
  const ports = publicPorts(service)
  const tags = serviceTags(scope, service.name)
  return ports.map((port) => {
    const host = publicHost(scope, front.domain, service.name, ports.length > 1 ? port : undefined)
    return {
      port,
      host,
      url: `https://${host}`,
      targetGroup: {
        name: targetGroupName(scope, service.name, port),
        port,
        vpcId: network.vpcId,
        healthCheck: {
          ...TARGET_CHECK,
          path: service.checkPath ?? TARGET_CHECK.path,
          codes: service.checkCodes ?? TARGET_CHECK.codes
        },
        deregistrationDelay: DEREGISTRATION_DELAY,
        tags
      },
      rule: { name: host, port, tags },
      alias: { name: host, zoneId: front.zone.id }
    }
  })
}

/**
 * The zone of a service's volumes: the one its volumes name (`x-hyperform.zone`), else the first zone
 * (by name) of the stack's subnets, so the same subnets always give the same zone. Its instances launch
 * only in that zone's subnets.
 */
export function volumeZone(
  service: ServiceModel,
  volumes: readonly VolumeModel[],
  network: Network
): { zone: string; subnetIds: string[] } {
  const zones = network.subnetZones
  if (!zones) throw new Error("the subnets' availability zones were not read")
  const mounted = (service.volumes ?? []).map((m) => volumes.find((v) => v.name === m.name))
  const named = [...new Set(mounted.flatMap((v) => (v?.zone ? [v.zone] : [])))]
  const where = (v: VolumeModel | undefined): string => (v ? `${v.location.file}:${v.location.line}` : 'compose file')
  if (named.length > 1)
    throw new Error(
      `service "${service.name}": its volumes name different zones (${named.join(', ')}): a service runs in one zone`
    )
  const available = [...new Set(Object.values(zones))].sort()
  const zone = named[0] ?? available[0]
  if (!zone) throw new Error(`service "${service.name}": the stack's subnets have no availability zone`)
  if (!available.includes(zone)) {
    const v = mounted.find((m) => m?.zone === zone)
    throw new Error(
      `${where(v)}: volumes.${v?.name ?? ''}.x-hyperform.zone: ${zone} has none of the stack's subnets ` +
        `(their zones: ${available.join(', ')})`
    )
  }
  return { zone, subnetIds: network.subnetIds.filter((id) => zones[id] === zone).sort() }
}

function buildVolumes(
  scope: StackScope,
  service: ServiceModel,
  volumes: readonly VolumeModel[],
  zone: string
): DesiredVolume[] {
  return (service.volumes ?? []).flatMap((mount) => {
    const v = volumes.find((x) => x.name === mount.name)
    if (!v) throw new Error(`service "${service.name}": volume ${mount.name} is not declared under top-level volumes`)
    return Array.from({ length: service.replicas }, (_, slot) => ({
      name: volumeName(service.name, v.name, slot),
      service: service.name,
      volume: v.name,
      slot,
      zone,
      sizeGiB: v.sizeGiB,
      type: v.type,
      ...(v.iops !== undefined ? { iops: v.iops } : {}),
      ...(v.throughput !== undefined ? { throughput: v.throughput } : {}),
      tags: {
        ...serviceTags(scope, service.name),
        [TAGS.volume]: v.name,
        [TAGS.slot]: String(slot),
        Name: `hyperform-${scope.project}-${scope.stack}-${service.name}-${v.name}-${slot}`
      }
    }))
  })
}

/** The plan's warning for each service with volumes on spot: a reclaim stops it until its replacement attaches the volume. */
export function statefulSpotWarnings(desired: DesiredState): string[] {
  return desired.services.flatMap((s) => {
    const spot = s.asgs.find((a) => a.capacity === 'spot')?.size ?? 0
    if (s.volumes.length === 0 || spot === 0) return []
    return [
      `service "${s.name}": ${spot} of its instances are spot and it mounts volumes (${[...new Set(s.volumes.map((v) => v.volume))].join(', ')}): ` +
        `a spot reclaim stops that replica until its replacement has attached the volume (minutes); consider deploy.preemptible: 0`
    ]
  })
}

/** One subnet per availability zone (the first of each, sorted); a load balancer needs two zones. */
export function loadBalancerSubnets(network: Network): string[] {
  const zones = network.subnetZones
  if (!zones) throw new Error("the subnets' availability zones were not read")
  const first = new Map<string, string>()
  for (const id of [...network.subnetIds].sort()) {
    const zone = zones[id]
    if (zone && !first.has(zone)) first.set(zone, id)
  }
  if (first.size < 2)
    throw new Error(
      `public services behind a load balancer need subnets in two availability zones; the stack's subnets ` +
        `(${network.subnetIds.join(', ')}) are in ${first.size === 1 ? 'one' : 'none'}: set subnet-ids`
    )
  return [...first.values()]
}

function buildPublic(scope: StackScope, network: Network, front: { domain: string; zone: PublicZone }): DesiredPublic {
  const tags = projectTags(scope)
  const lb = loadBalancerName(scope)
  return {
    domain: front.domain,
    zone: front.zone,
    certificate: {
      domainName: `*.${front.domain}`,
      alternativeNames: [front.domain],
      zoneId: front.zone.id,
      tags
    },
    securityGroup: {
      name: loadBalancerSecurityGroupName(scope),
      description: `hyperform ${scope.project}: the load balancer (HTTPS and HTTP from anywhere)`,
      vpcId: network.vpcId,
      ingress: [443, 80].map((port) => ({ protocol: 'tcp' as const, fromPort: port, toPort: port, cidr: ANYWHERE })),
      tags
    },
    loadBalancer: { name: lb, subnetIds: loadBalancerSubnets(network), scheme: 'internet-facing', tags },
    listeners: [
      { name: `${lb}/https`, protocol: 'HTTPS', port: 443, sslPolicy: SSL_POLICY, tags },
      { name: `${lb}/http`, protocol: 'HTTP', port: 80, tags }
    ],
    stackCertificate: {
      domainName: `*.${scope.stack}.${front.domain}`,
      alternativeNames: [],
      zoneId: front.zone.id,
      tags: stackTags(scope)
    }
  }
}

function buildService(
  scope: StackScope,
  service: ServiceModel,
  inputs: ActionInputs,
  where: {
    network: Network
    front: { domain: string; zone: PublicZone } | undefined
    volumes: readonly VolumeModel[]
    /** The parts' hashes of the image the action built for it. */
    build?: string
  }
): DesiredService {
  const { network, front } = where
  const placed = (service.volumes ?? []).length > 0 ? volumeZone(service, where.volumes, network) : undefined
  const endpoints = front ? buildEndpoints(scope, service, network, front) : []
  const tags = serviceTags(scope, service.name)
  const instanceType = service.size ?? inputs.instanceType
  const config = agentConfig(service, {
    region: scope.region,
    dns: { resolver: network.resolver, search: dnsSearch(scope) },
    logGroup: containerLogGroupName(scope),
    ...(placed ? { volumes: { project: scope.project, stack: scope.stack, zone: placed.zone } } : {})
  })
  const configName = configParameterName(scope, service.name)
  const configValue = JSON.stringify(config)
  const bytes = Buffer.byteLength(configValue, 'utf8')
  if (bytes > ADVANCED_LIMIT)
    throw new Error(
      `service "${service.name}": its configuration (environment, secrets given inline, command) is ${bytes} bytes; ` +
        `an SSM parameter holds ${ADVANCED_LIMIT}. Move large values to secrets that reference SSM or Secrets Manager.`
    )
  const grants = instanceGrants(config, {
    region: scope.region,
    configParameter: configName,
    kmsKeyId: inputs.kmsKeyId,
    groups: CAPACITIES.map((capacity) => asgName(scope, service.name, capacity))
  })
  const role = instanceRoleName(scope, service.name)
  const spec: LaunchTemplateSpec = {
    imageId: imageIdFor(instanceType, inputs.ami),
    instanceType,
    region: scope.region,
    configName,
    instanceProfile: role,
    hopLimit: config.awsCredentials ? 2 : 1,
    instanceTags: tags
  }
  return {
    name: service.name,
    public: service.public,
    endpoints,
    image: service.image,
    recordName: recordName(scope, service.name),
    instanceRole: {
      name: role,
      path: instancePath(scope),
      grants,
      hash: shortSha({ grants, trust: INSTANCE_TRUST_POLICY, policy: INSTANCE_POLICY_NAME }),
      tags
    },
    instanceProfile: { name: role, path: instancePath(scope), roleName: role, tags },
    config: {
      name: configName,
      hash: shortSha(configValue),
      ...(inputs.kmsKeyId ? { keyId: inputs.kmsKeyId } : {}),
      tier: tierFor(bytes),
      tags
    },
    configValue,
    securityGroup: {
      name: securityGroupName(scope, service.name),
      description: `hyperform ${scope.project}/${scope.stack}/${service.name}`,
      vpcId: network.vpcId,
      ingress: ingressRules(service, network.vpcCidr, front ? FROM_LOAD_BALANCER : ANYWHERE),
      tags
    },
    launchTemplate: {
      name: launchTemplateName(scope, service.name),
      spec,
      tags: where.build ? { ...tags, [TAGS.build]: where.build } : tags
    },
    asgs: buildAsgs({
      scope,
      service,
      inputs,
      network,
      instanceType,
      targetGroups: endpoints.map((e) => e.targetGroup.name).sort(),
      subnetIds: placed?.subnetIds ?? network.subnetIds
    }),
    volumes: placed ? buildVolumes(scope, service, where.volumes, placed.zone) : [],
    ...(placed ? { zone: placed.zone } : {})
  }
}

export function buildDesired(args: {
  inputs: ActionInputs
  model: ComposeModel
  network: Network
  lambdaCode: LambdaCode
  /** The `domain` input's public zone (found before any write), when the input is set. */
  publicZone?: PublicZone
  /** The images the action built (build/index.ts): what each building service runs, and its repositories. */
  built?: { images: Record<string, string>; builds: Record<string, string>; repositories: DesiredRepository[] }
}): DesiredState {
  const { inputs, network } = args
  const scope: StackScope = { project: inputs.project, region: inputs.region, stack: inputs.stack }
  const front =
    inputs.domain && args.publicZone && args.model.services.some((s) => publicPorts(s).length > 0)
      ? { domain: inputs.domain, zone: args.publicZone }
      : undefined
  const built = args.built
  const services = [...args.model.services]
    .map((s) => (built?.images[s.name] ? { ...s, image: built.images[s.name] ?? s.image } : s))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) =>
      buildService(scope, s, inputs, {
        network,
        front,
        volumes: args.model.volumes ?? [],
        ...(built?.builds[s.name] ? { build: built.builds[s.name] } : {})
      })
    )
  return {
    ...(front ? { public: buildPublic(scope, network, front) } : {}),
    scope,
    network,
    project: buildProject(inputs, network, args.lambdaCode),
    containerLogGroup: {
      name: containerLogGroupName(scope),
      retentionDays: inputs.logRetentionDays,
      tags: { [TAGS.project]: scope.project, [TAGS.stack]: scope.stack, [TAGS.managedBy]: MANAGED_BY }
    },
    services,
    ...(built && built.repositories.length > 0 ? { repositories: built.repositories } : {})
  }
}
