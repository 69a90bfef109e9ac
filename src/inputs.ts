/**
 * The only reader of the action's inputs. Returns a typed, validated object;
 * every error names the input and quotes the value. Nothing here calls AWS.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import * as core from '@actions/core'
import { DEFAULT_RECORD_TTL, LIMITS, labelProblem, sanitizeLabel } from './names.js'
import { VOLUMES_ON_DESTROY, type VolumesOnDestroy } from './resources/volume.js'

export type Command = 'deploy' | 'plan' | 'destroy' | 'logs'
export const COMMANDS: readonly Command[] = ['deploy', 'plan', 'destroy', 'logs']
export const DEFAULT_COMPOSE_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml']
/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
]

export interface ActionInputs {
  project: string
  region: string
  stack: string
  /** Compose files in merge order, as given (relative to the workspace). */
  composeFiles: string[]
  /** The directory the compose files are relative to. */
  workspace: string
  command: Command
  /** Unset: the region's default VPC. */
  vpcId?: string
  /** Empty: the chosen VPC's subnets. */
  subnetIds: string[]
  instanceType: string
  /** Extra instance types the spot ASG may use besides the service's own (empty: the types of its size). */
  spotInstanceTypes: string[]
  /**
   * What the deploy's wait does when a spot group lacks capacity for the threshold: `none` reports it,
   * `on-demand` also runs the missing instances in the service's on-demand group until the next deploy.
   */
  spotFallback: SpotFallback
  /** Unset: latest Amazon Linux 2023 from its public SSM parameter. */
  ami?: string
  dnsTtl: number
  wait: boolean
  /** Seconds. */
  waitTimeout: number
  /** Log retention for the DNS updater's and the containers' log groups, days. */
  logRetentionDays: number
  /** The KMS key (id or ARN) of the services' configurations; unset: the account's default key for SSM. */
  kmsKeyId?: string
  /** command logs: lines per container, and the one service to show (unset: all). */
  lines: number
  service?: string
  /** For pull-request comments; unset: no comment. */
  githubToken?: string
  /** Deploy from a fork's pull request. */
  allowForks: boolean
  /** A public hosted zone of the account: public services get `https://<service>.<stack>.<domain>` behind a load balancer. */
  domain?: string
  /**
   * What a destroy does with the stack's volumes; unset: delete when a closed pull request destroys its
   * preview, keep otherwise (decided with the command).
   */
  volumesOnDestroy?: VolumesOnDestroy
  /** Images each of the project's repositories keeps besides those its stacks run. */
  imagesKept: number
}

/** Where the stack name came from, for the report. */
export type StackSource = 'input' | 'pull-request' | 'compose-name' | 'repository'

/** Inputs before the compose file is read: the stack may still depend on its `name:`. */
export interface InputsDraft extends Omit<ActionInputs, 'stack'> {
  stack?: string
  /** True when `command` was set explicitly (a closed pull request destroys only when it was not). */
  commandExplicit: boolean
}

export class InputError extends Error {
  constructor(readonly problems: string[]) {
    super(
      problems.length === 1
        ? problems[0]
        : `${problems.length} input errors:\n${problems.map((p) => `  - ${p}`).join('\n')}`
    )
    this.name = 'InputError'
  }
}

type Env = Record<string, string | undefined>

const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/
const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/
const AMI_ID = /^ami-[0-9a-f]{8,17}$/
const SSM_REFERENCE = 'resolve:ssm:'
/** SSM parameter names: letters, digits, `_.-`, and `/` between the levels of a hierarchy. */
const SSM_NAME = /^\/?[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/
const SSM_NAME_MAX = 1011
const SSM_VERSION = /^[1-9][0-9]{0,18}$/
/** SSM parameter labels: at most 100 of letters, digits and `_.-`, not starting with a digit, "aws" or "ssm". */
const SSM_LABEL = /^(?!aws|ssm)[A-Za-z_.-][A-Za-z0-9_.-]{0,99}$/i
const AMI_EXAMPLES = 'an AMI id such as ami-0123456789abcdef0 or resolve:ssm:/parameter/name'

class Reader {
  readonly problems: string[] = []
  constructor(private readonly env: Env) {}

  raw(name: string): string {
    return core.getInput(name, { required: false }).trim()
  }

  string(name: string, fallback = ''): string {
    return this.raw(name) || fallback
  }

  list(name: string): string[] {
    return this.raw(name)
      .split(/[\n,]/)
      .map((item) => item.trim())
      .filter((item) => item.length > 0)
  }

  integer(name: string, range: { min: number; max: number; fallback: number }): number {
    const value = this.raw(name)
    if (value === '') return range.fallback
    if (!/^\d+$/.test(value) || Number(value) < range.min || Number(value) > range.max) {
      this.problems.push(`Input "${name}": "${value}" is not a whole number from ${range.min} to ${range.max}`)
      return range.fallback
    }
    return Number(value)
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name)
    if (value === '') return fallback
    if (['true', 'True', 'TRUE'].includes(value)) return true
    if (['false', 'False', 'FALSE'].includes(value)) return false
    this.problems.push(`Input "${name}": "${value}" is not a boolean (use true or false)`)
    return fallback
  }

  matching(name: string, pattern: RegExp, what: string): string | undefined {
    const value = this.raw(name)
    if (value === '') return undefined
    if (!pattern.test(value)) this.problems.push(`Input "${name}": "${value}" is not ${what}`)
    return value
  }

  get envValue(): Env {
    return this.env
  }
}

/**
 * `ami-...`, or `resolve:ssm:<parameter>` with an optional `:<version>` or `:<label>`
 * suffix, which launch templates accept and EC2 resolves at each launch.
 */
function readAmi(r: Reader): string | undefined {
  const value = r.raw('ami')
  if (value === '') return undefined
  const problem = value.startsWith(SSM_REFERENCE)
    ? ssmReferenceProblem(value.slice(SSM_REFERENCE.length))
    : AMI_ID.test(value)
      ? undefined
      : `is not ${AMI_EXAMPLES}`
  if (problem) r.problems.push(`Input "ami": "${value}" ${problem}`)
  return value
}

/** A key id (a UUID, or mrk- for a multi-Region key) or a key ARN. */
const KMS_KEY = /^((mrk-)?[0-9a-f-]{32,36}|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(mrk-)?[0-9a-f-]{32,36})$/

function ssmReferenceProblem(reference: string): string | undefined {
  const colon = reference.lastIndexOf(':')
  const name = colon < 0 ? reference : reference.slice(0, colon)
  const suffix = colon < 0 ? undefined : reference.slice(colon + 1)
  const forms = 'resolve:ssm:/parameter/name, optionally followed by :version or :label'
  if (name === '') return `names no SSM parameter; expected ${forms}`
  if (!SSM_NAME.test(name) || name.length > SSM_NAME_MAX) {
    return `has an invalid SSM parameter name "${name}" (letters, digits, "_", ".", "-" and "/" between levels); expected ${forms}`
  }
  if (suffix === undefined || SSM_VERSION.test(suffix) || SSM_LABEL.test(suffix)) return undefined
  if (/^\d+$/.test(suffix)) return `has parameter version "${suffix}"; versions are whole numbers from 1`
  return `has an invalid parameter version or label "${suffix}" (a version is a whole number from 1; a label is at most 100 letters, digits, "_", "." or "-", not starting with a digit, "aws" or "ssm")`
}

export const SPOT_FALLBACKS = ['none', 'on-demand'] as const
export type SpotFallback = (typeof SPOT_FALLBACKS)[number]

function readSpotFallback(r: Reader): SpotFallback {
  const value = r.raw('spot-fallback')
  if (value === '') return 'none'
  if ((SPOT_FALLBACKS as readonly string[]).includes(value)) return value as SpotFallback
  r.problems.push(`Input "spot-fallback": "${value}" is not one of ${SPOT_FALLBACKS.join(', ')}`)
  return 'none'
}

function readVolumesOnDestroy(r: Reader): VolumesOnDestroy | undefined {
  const value = r.raw('volumes-on-destroy')
  if (value === '') return undefined
  if ((VOLUMES_ON_DESTROY as readonly string[]).includes(value)) return value as VolumesOnDestroy
  r.problems.push(`Input "volumes-on-destroy": "${value}" is not one of ${VOLUMES_ON_DESTROY.join(', ')}`)
  return undefined
}

function readCommand(r: Reader): Command {
  const value = r.raw('command')
  if (value === '') return 'deploy'
  if ((COMMANDS as readonly string[]).includes(value)) return value as Command
  r.problems.push(`Input "command": "${value}" is not one of ${COMMANDS.join(', ')}`)
  return 'deploy'
}

function readRegion(r: Reader): string {
  const region = r.string('region', r.envValue.AWS_REGION ?? r.envValue.AWS_DEFAULT_REGION ?? '')
  if (region === '') {
    r.problems.push(
      'Input "region": not set, and neither is AWS_REGION nor AWS_DEFAULT_REGION (aws-actions/configure-aws-credentials sets them)'
    )
  }
  return region
}

function readComposeFiles(r: Reader, workspace: string): string[] {
  const given = r.list('compose-file')
  if (given.length > 0) return given
  const found = DEFAULT_COMPOSE_FILES.find((name) => existsSync(path.resolve(workspace, name)))
  return [found ?? DEFAULT_COMPOSE_FILES[0]!]
}

function readTypes(r: Reader, name: string): string[] {
  const types = r.list(name)
  for (const type of types) {
    if (!INSTANCE_TYPE.test(type))
      r.problems.push(`Input "${name}": "${type}" is not an EC2 instance type such as t3.micro`)
  }
  return types
}

function readSubnets(r: Reader): string[] {
  const subnets = r.list('subnet-ids')
  for (const subnet of subnets) {
    if (!SUBNET_ID.test(subnet))
      r.problems.push(`Input "subnet-ids": "${subnet}" is not a subnet id such as subnet-0123456789abcdef0`)
  }
  return subnets
}

function readRetention(r: Reader): number {
  const days = r.integer('log-retention-days', { min: 1, max: 3653, fallback: 14 })
  if (!LOG_RETENTION_DAYS.includes(days)) {
    r.problems.push(
      `Input "log-retention-days": "${days}" is not a retention CloudWatch Logs accepts (${LOG_RETENTION_DAYS.join(', ')})`
    )
  }
  return days
}

/**
 * A DNS name of at least two labels, lowercase, without the trailing dot; its hosts
 * `<service>.<stack>.<domain>` are checked against DNS limits with the compose file.
 */
function readDomain(r: Reader): string | undefined {
  const value = r.raw('domain').replace(/\.$/, '').toLowerCase()
  if (value === '') return undefined
  const labels = value.split('.')
  const bad = labels.find((label) => labelProblem(label) !== undefined)
  if (labels.length < 2 || bad !== undefined || value.length > LIMITS.fqdn)
    r.problems.push(
      `Input "domain": "${r.raw('domain')}" is not a domain name such as preview.example.com` +
        (bad !== undefined ? ` (label "${bad}" ${labelProblem(bad)})` : '')
    )
  return value
}

/** Reads and validates every input; throws InputError listing every problem at once. */
export function readInputs(env: Env = process.env): InputsDraft {
  const r = new Reader(env)
  const workspace = env.GITHUB_WORKSPACE || process.cwd()
  const compose = readComposeFiles(r, workspace)
  const project = r.raw('project')
  if (project === '') r.problems.push('Input "project": required and not set')
  const instanceTypes = readTypes(r, 'instance-type')
  if (instanceTypes.length > 1)
    r.problems.push(
      `Input "instance-type": "${r.raw('instance-type')}" names more than one type; use spot-instance-types for extra spot types`
    )
  const githubToken = r.raw('github-token')
  if (githubToken) core.setSecret(githubToken)
  const draft: InputsDraft = {
    project,
    region: readRegion(r),
    stack: r.raw('stack') || undefined,
    composeFiles: compose,
    workspace,
    command: readCommand(r),
    commandExplicit: r.raw('command') !== '',
    vpcId: r.matching('vpc-id', VPC_ID, 'a VPC id such as vpc-0123456789abcdef0'),
    subnetIds: readSubnets(r),
    instanceType: instanceTypes[0] ?? 't3.micro',
    spotInstanceTypes: readTypes(r, 'spot-instance-types'),
    spotFallback: readSpotFallback(r),
    volumesOnDestroy: readVolumesOnDestroy(r),
    imagesKept: r.integer('images-to-keep', { min: 1, max: 10000, fallback: 20 }),
    ami: readAmi(r),
    dnsTtl: r.integer('dns-ttl', { min: 0, max: 172800, fallback: DEFAULT_RECORD_TTL }),
    wait: r.boolean('wait', true),
    waitTimeout: r.integer('wait-timeout', { min: 1, max: 21600, fallback: 900 }),
    logRetentionDays: readRetention(r),
    kmsKeyId: r.matching(
      'kms-key-id',
      KMS_KEY,
      'a KMS key id or key ARN (an alias cannot be granted to the instance role)'
    ),
    lines: r.integer('lines', { min: 1, max: 10000, fallback: 100 }),
    service: r.raw('service') || undefined,
    githubToken: githubToken || undefined,
    allowForks: r.boolean('allow-forks', false),
    domain: readDomain(r)
  }
  if (r.problems.length > 0) throw new InputError(r.problems)
  return draft
}

/** The pull request number of a pull_request(_target) event, if this run is one. */
export function pullRequestNumber(env: Env = process.env): number | undefined {
  const event = env.GITHUB_EVENT_NAME
  if (event !== 'pull_request' && event !== 'pull_request_target') return undefined
  const payload = readEventPayload(env)
  const number = (payload?.pull_request as { number?: unknown } | undefined)?.number ?? payload?.number
  return typeof number === 'number' && Number.isInteger(number) ? number : undefined
}

export function readEventPayload(env: Env = process.env): Record<string, unknown> | undefined {
  const file = env.GITHUB_EVENT_PATH
  if (!file || !existsSync(file)) return undefined
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  } catch (error) {
    throw new Error(`GITHUB_EVENT_PATH ${file} is not valid JSON: ${(error as Error).message}`, { cause: error })
  }
}

/**
 * The stack: the input, else `pr-<N>` on pull requests, else the compose `name:`,
 * else the repository name, sanitised into a DNS label.
 */
export function resolveStack(
  draft: InputsDraft,
  composeName: string | undefined,
  env: Env = process.env
): { inputs: ActionInputs; source: StackSource } {
  const pr = pullRequestNumber(env)
  const repository = (env.GITHUB_REPOSITORY ?? '').split('/').pop() ?? ''
  const [stack, source]: [string, StackSource] = draft.stack
    ? [draft.stack, 'input']
    : pr !== undefined
      ? [`pr-${pr}`, 'pull-request']
      : composeName
        ? [sanitizeLabel(composeName), 'compose-name']
        : [sanitizeLabel(repository), 'repository']
  if (stack === '') {
    throw new InputError([
      'Input "stack": not set, and no pull request, compose name: or GITHUB_REPOSITORY to derive it from'
    ])
  }
  const { commandExplicit: _c, ...rest } = draft
  return { inputs: { ...rest, stack }, source }
}
