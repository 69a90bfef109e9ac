/**
 * From a compose service to what its instances need: the agent's
 * configuration (agent/config.ts) and what its instance role must grant for
 * it. Pure.
 */
import type { ServiceModel } from '../compose/model.js'
import { dockerPortArgs } from '../container-ports.js'
import type { InstanceGrants, Repository } from '../resources/instance-role.js'
import { LAUNCH_HOOK } from '../names.js'
import { AGENT_CONFIG_VERSION, type AgentConfig, type Reference } from './config.js'

/** `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]` */
const ECR_IMAGE =
  /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/([a-z0-9._/-]+?)(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/

/** The ECR repository an image reference names, if it is in ECR. */
export function ecrRepository(image: string): (Repository & { host: string }) | undefined {
  const match = ECR_IMAGE.exec(image)
  if (!match) return undefined
  const [, account, region, china, name] = match
  return {
    account: account!,
    region: region!,
    partition: china ? 'aws-cn' : 'aws',
    name: name!,
    host: image.slice(0, image.indexOf('/'))
  }
}

function checkEnvironment(service: string, environment: Record<string, string>): void {
  for (const [key, value] of Object.entries(environment)) {
    if (key === '' || key.includes('=') || key.includes('\0'))
      throw new Error(
        `service "${service}": environment variable name ${JSON.stringify(key)} cannot be passed to a process (empty, "=" or NUL)`
      )
    if (value.includes('\0'))
      throw new Error(
        `service "${service}": the value of environment variable ${key} contains a NUL byte, which a process environment cannot carry`
      )
  }
}

/** Without a health status, a container is healthy once it has run this long without a restart. */
export const SETTLE_SECONDS = 10

export interface AgentContext {
  region: string
  dns: { resolver: string; search: string[] }
  logGroup: string
  /** Where the service's EBS volumes are (their tags' project and stack, their zone): needed when it mounts named volumes. */
  volumes?: { project: string; stack: string; zone: string }
}

export function agentConfig(service: ServiceModel, ctx: AgentContext): AgentConfig {
  if (service.image.startsWith('-') || service.image.trim() === '')
    throw new Error(`service "${service.name}": image ${JSON.stringify(service.image)} is not an image reference`)
  checkEnvironment(service.name, service.environment)
  const repository = ecrRepository(service.image)
  const config: AgentConfig = {
    version: AGENT_CONFIG_VERSION,
    service: service.name,
    image: service.image,
    ...(repository ? { registry: { host: repository.host, region: repository.region } } : {}),
    ports: dockerPortArgs(service),
    dns: ctx.dns.resolver,
    dnsSearch: [...ctx.dns.search],
    environment: { ...service.environment },
    environmentFrom: { ...service.environmentFrom },
    secrets: service.secrets.map((s) => ({ ...s })),
    restart: service.restart,
    stopSignal: service.stopSignal,
    stopGracePeriod: service.stopGracePeriod,
    logging:
      service.logging.driver === 'none'
        ? { driver: 'none' }
        : {
            driver: 'awslogs',
            group: ctx.logGroup,
            region: ctx.region,
            streamPrefix: service.name,
            options: { ...service.logging.options }
          },
    awsCredentials: service.awsCredentials,
    lifecycle: { hook: LAUNCH_HOOK, settleSeconds: SETTLE_SECONDS },
    agentLog: { group: ctx.logGroup, region: ctx.region, streamPrefix: service.name }
  }
  if (service.command) config.command = [...service.command]
  if (service.entrypoint) config.entrypoint = [...service.entrypoint]
  if (service.healthcheck) config.healthcheck = structuredClone(service.healthcheck)
  if (service.volumes && service.volumes.length > 0) {
    if (!ctx.volumes)
      throw new Error(`service "${service.name}" mounts named volumes, but no availability zone was given for them`)
    const { project, stack, zone } = ctx.volumes
    // Sorted by name: every instance of the service claims its slot through the same first volume.
    const mounts = [...service.volumes]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((v) => ({ name: v.name, target: v.target, readOnly: v.readOnly }))
    config.volumes = { project, stack, zone, mounts }
  }
  if (service.files && service.files.length > 0)
    config.files = service.files.map((f) => ({ target: f.target, mode: f.mode, content: f.content }))
  return config
}

/** Every reference the configuration makes, deduplicated and sorted (the policy grants exactly these). */
function references(config: AgentConfig): { parameters: string[]; secrets: string[] } {
  const refs: Reference[] = [
    ...Object.values(config.environmentFrom),
    ...config.secrets.flatMap((s) => (s.from ? [s.from] : []))
  ]
  const parameters = new Set<string>()
  const secrets = new Set<string>()
  for (const ref of refs) {
    if ('ssm' in ref) parameters.add(ref.ssm)
    else secrets.add(ref.secret)
  }
  return { parameters: [...parameters].sort(), secrets: [...secrets].sort() }
}

/**
 * `groups`: the service's Auto Scaling group names (on-demand and spot), whose launch hook the
 * agent completes and to which it reports its instance unhealthy.
 */
export function instanceGrants(
  config: AgentConfig,
  args: { region: string; configParameter: string; kmsKeyId?: string; groups: string[] }
): InstanceGrants {
  const repository = ecrRepository(config.image)
  return {
    region: args.region,
    configParameter: args.configParameter,
    ...references(config),
    ...(args.kmsKeyId ? { kmsKeyId: args.kmsKeyId } : {}),
    repositories: repository
      ? [
          {
            partition: repository.partition,
            region: repository.region,
            account: repository.account,
            name: repository.name
          }
        ]
      : [],
    // The agent's own lines go to the container's stream, whatever the container's logging.
    ...(config.agentLog
      ? { logs: { group: config.agentLog.group, streamPrefix: config.agentLog.streamPrefix } }
      : config.logging.driver === 'awslogs'
        ? { logs: { group: config.logging.group, streamPrefix: config.logging.streamPrefix } }
        : {}),
    ...(config.lifecycle ? { groups: [...args.groups].sort() } : {}),
    ...(config.volumes
      ? { volumes: { project: config.volumes.project, stack: config.volumes.stack, service: config.service } }
      : {})
  }
}
