/**
 * The emulator's internal contract: what the HTTP core gives each service
 * module, and the state that more than one module reads.
 */
import type { EventEmitter } from 'node:events'

/** An AWS error as the service would return it; each protocol module serialises it. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number = 400
  ) {
    super(message)
    this.name = code
  }
}

/**
 * Every error code one service can return, with the HTTP status AWS answers it with
 * (the API reference; the SDK model's httpError where it has one).
 */
export type ErrorCodes = Readonly<Record<string, number>>

/** The raise function of one service: only its listed codes, each with its listed status. */
export type RaiseError<T extends ErrorCodes> = (code: keyof T & string, message: string) => AwsError

export function errorRaiser<T extends ErrorCodes>(codes: T): RaiseError<T> {
  return (code, message) => new AwsError(code, message, codes[code] ?? 400)
}

export interface EmulatorRequest {
  /** SigV4 signing name from the Authorization header's credential scope (ec2, autoscaling, route53, ...). */
  service: string
  region: string
  method: string
  /** URL path without the query string, decoded. */
  path: string
  query: URLSearchParams
  /** Lowercased header names. */
  headers: Record<string, string>
  body: Buffer
}

export interface EmulatorResponse {
  status: number
  headers?: Record<string, string>
  body?: string | Buffer
}

/** A protocol + service implementation, registered with the core under its signing name. */
export interface ServiceModule {
  readonly signingName: string
  /** Every error code this service can return (its errors module); the core takes statuses from here. */
  readonly errors: ErrorCodes
  /** The error code this service uses for throttling (e.g. RequestLimitExceeded, Throttling, TooManyRequestsException). */
  readonly throttleCode: string
  /** The operation a request names (Action=, X-Amz-Target, or method + path); AwsError if unknown. */
  operation(req: EmulatorRequest): string
  handle(operation: string, req: EmulatorRequest): Promise<EmulatorResponse>
  /** The error as this protocol puts it on the wire. */
  error(err: AwsError, req: EmulatorRequest): EmulatorResponse
  /** The code of an injected 500 (InternalError, InternalFailure, ServiceException, ...). */
  readonly serverErrorCode: string
  /** Optional: a JSON-able dump of this module's state for GET /_emulator/state. */
  state?(): unknown
  /** Optional: release what the module holds (worker processes, timers) at once. Lambda and events also drain through core/hooks onStop. */
  close?(): Promise<void>
}

export type CallKind = 'read' | 'write'

export interface CallRecord {
  seq: number
  /** Epoch ms when the request arrived. */
  time: number
  service: string
  operation: string
  kind: CallKind
  region: string
  durationMs: number
  status: number
  /** Set when the call failed (including injected faults). */
  errorCode?: string
  /** True when the error was injected by the fault settings. */
  injected?: boolean
  /** True when the call was throttled by the emulated AWS rate limits (options.rateLimits), not by a fault. */
  rateLimited?: boolean
  /** Who made the call: the access key id of the caller (the action, or a Lambda function's credentials). */
  caller?: string
}

/** Describe*, Get*, List* and Filter* (CloudWatch Logs' FilterLogEvents) are reads; everything else (including Invoke) is a write. */
export function callKind(operation: string): CallKind {
  return /^(Describe|Get|List|Filter)/.test(operation) ? 'read' : 'write'
}

/** A spot capacity pool, or several: the fields left out match any. */
export interface SpotPool {
  region?: string
  instanceType?: string
  availabilityZone?: string
}

export interface FaultSettings {
  /** Added latency per call, ms. */
  latencyMs: number
  latencyJitterMs: number
  /** 0..1: share of calls answered with the service's throttling error. */
  throttleRate: number
  /** 0..1: share of calls answered with a 500 InternalError. */
  serverErrorRate: number
  /** CreateFunction/UpdateFunctionConfiguration with a role younger than this fails as in AWS. */
  rolePropagationSeconds: number
  /** A new security group / launch template is not visible to other calls for this long. */
  ec2VisibilitySeconds: number
  /** 0..1: share of events delivered twice. */
  duplicateEventRate: number
  /** Events are held back and delivered in shuffled order within this window, ms. */
  reorderWindowMs: number
  /** 0..1: share of PutTargets entries reported in FailedEntries (events). */
  putTargetsFailureRate?: number
  /** Route 53: a change to a zone whose previous change is still PENDING fails with PriorRequestNotComplete. */
  route53OneChangeAtATime?: boolean
  /** Optional: no spot capacity anywhere; spot launches fail and ASGs keep retrying (never falling back to on-demand). */
  spotCapacityUnavailable?: boolean
  /**
   * Spot pools without capacity: a pool matches when each field set equals the launch's (an entry with none
   * matches every pool). An ASG with several override types launches on a type whose pool has capacity.
   */
  spotPoolsUnavailable?: SpotPool[]
  /** Only inject faults into these services (signing names); empty = all. */
  services: string[]
  /** Deterministic seed for every random choice. */
  seed: number
}

export interface SimulationSettings {
  /** pending -> running, ms. */
  launchDelayMs: number
  /** shutting-down -> terminated, ms. */
  terminateDelayMs: number
  /** How long a terminated instance stays describable, ms (AWS: about an hour). */
  terminatedRetentionMs: number
  /** New Lambda functions stay Pending for this long, ms. */
  functionPendingMs: number
  /** EBS: a new volume stays `creating` this long before `available`, ms (default 20). */
  volumeCreateDelayMs?: number
  /** EBS: an attachment stays `attaching` (a detachment `detaching`) this long, ms (default 20). */
  volumeAttachDelayMs?: number
  /** EBS: a new snapshot stays `pending` this long before `completed`, ms (default 20). */
  snapshotDelayMs?: number
  /** Route 53 changes stay PENDING this long before INSYNC, ms (default 0). */
  route53SyncMs?: number
  /**
   * A spot interruption: from the interruption warning (EventBridge event, IMDS spot/instance-action) to the
   * reclaim (shutting-down -> terminated), ms (default 120000, AWS's two minutes). Tracked by waitIdle.
   */
  spotReclaimDelayMs?: number
  /** The Price List Query API's NextToken expires this long after it was issued (ExpiredNextTokenException), ms (default 3600000). */
  priceListTokenTtlMs?: number
  /** How long an ASG waits before retrying a failed launch, ms (default 1000). Not tracked by waitIdle. */
  launchRetryMs?: number
  /** Instance refreshes stay Pending this long before replacing anything, ms (default 0; AWS takes seconds to minutes). */
  refreshStartDelayMs?: number
  /**
   * IAM eventual consistency: for this long after CreateInstanceProfile / AddRoleToInstanceProfile,
   * EC2 and Auto Scaling do not see the profile (or its role): launches naming it fail, ms (default 0).
   */
  instanceProfileDelayMs?: number
  /** Lambda: concurrent executions of the account (default 10, as on new accounts; AWS's usual quota is 1000). */
  lambdaConcurrency?: number
  /** Lambda: factor on the asynchronous retry delays (AWS: about 1 then 2 minutes); default 1/300 (200 then 400 ms). */
  asyncRetryScale?: number
  /** SQS: factor on every SQS duration (visibility timeouts, delays, long polls, retention, batching windows); default 1. */
  sqsTimeScale?: number
  /**
   * Elastic Load Balancing: factor on its durations (a load balancer's provisioning of about 2 minutes, a new
   * target's initial health checks of HealthCheckIntervalSeconds x HealthyThresholdCount, the deregistration
   * delay); default 1/100.
   */
  elbTimeScale?: number
  /** ACM: how long after RequestCertificate the DNS validation record is known (DescribeCertificate shows it), ms (default 50). */
  acmValidationRecordMs?: number
  /** EventBridge: factor on the schedule clock (rate(1 minute) fires every 60 s times this); default 1. */
  scheduleTimeScale?: number
  /** Agent stand-in: false runs none on any instance (a test runs the real agent script against them); default true. */
  agentStandIn?: boolean
  /** Agent stand-in: how long a crashed container waits before its restart policy starts it again, ms (default 1000). */
  containerRestartDelayMs?: number
  /** Agent stand-in: at most this many restarts per container while its instance runs (default 10). */
  containerMaxRestarts?: number
  /**
   * Agent stand-in: a healthy container passes the launch gate (CONTINUE) after running this long,
   * ms (default 500; the real agent waits 10 s without a health status, and for the first healthy
   * status with one).
   */
  containerSettleMs?: number
  /**
   * Agent stand-in: ms per second of a service's stop grace period that its container takes to stop when the
   * agent drains it on a spot interruption notice (the real agent's `docker stop --time <grace>`, at its
   * longest); default 10 (a 10 s grace: 100 ms). 0 stops it at once.
   */
  containerStopTimeScale?: number
  /** Agent stand-in: first delay between its tries to get credentials and read the configuration (doubling, 5 tries), ms (default 500). */
  agentRetryDelayMs?: number
  /**
   * Agent stand-in: how long it waits for a free volume of its service (one still attached to another
   * instance) before it abandons the launch, ms (default 30000; the real agent: 900 s).
   */
  agentVolumeWaitMs?: number
  /** Agent stand-in: ms between its looks (DescribeVolumes) while it waits for a volume (default 100). */
  agentVolumePollMs?: number
  /**
   * Auto Scaling: ms per second of a lifecycle hook's HeartbeatTimeout (and of the health check grace
   * period SetInstanceHealth respects); default 1000 (real time).
   */
  lifecycleTimeScale?: number
  /** Auto Scaling: ms per second of an instance refresh's InstanceWarmup; default 0 (no wait). */
  warmupTimeScale?: number
}

export interface EmulatorOptions {
  port?: number
  host?: string
  accountId?: string
  faults?: Partial<FaultSettings>
  simulation?: Partial<SimulationSettings>
  /** Enforce AWS per-account request-rate token buckets. */
  rateLimits?: boolean
  /** Print one line per call to stderr. */
  verbose?: boolean
  /**
   * The agent stand-in's image catalogue: `{ image, pull?: 'ok' | 'denied', run?: 'healthy' | 'unhealthy' | 'crash',
   * logs?: string[] }` each (emulator/agent/catalogue.ts); unlisted images pull, run healthy and log `<image> started`.
   */
  images?: unknown[]
}

/** A VPC as other modules need to see it (Route 53 checks private zone VPCs). */
export interface VpcRecord {
  vpcId: string
  region: string
  cidrBlock: string
  enableDnsSupport: boolean
  enableDnsHostnames: boolean
}

/** An IAM role as other modules need to see it (Lambda checks the role exists and its age). */
export interface RoleRecord {
  roleName: string
  arn: string
  roleId: string
  createdAt: number
  assumeRolePolicyDocument: string
  /** CreateRole / UpdateRole's Description (at most 1000 characters). */
  description?: string
  maxSessionDuration?: number
  inlinePolicies: Map<string, string>
  tags: Record<string, string>
}

/** The EC2 instance state-change, as the EC2 simulation announces it on the bus. */
export interface InstanceStateChange {
  instanceId: string
  state: 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped'
  region: string
  time: number
}

/** An event as EventBridge receives it from an AWS service (version, id, detail-type, source, account, time, region, resources, detail). */
export interface AwsServiceEvent extends Record<string, unknown> {
  region: string
  'detail-type': string
  source: string
  detail: Record<string, unknown>
}

/** State shared across service modules; each module keeps the rest of its state to itself. */
export interface SharedState {
  vpcs: Map<string, VpcRecord>
  roles: Map<string, RoleRecord>
  /** Registered by the logs module: Lambda writes its functions' output here. */
  logs?: LogSink
  /** Registered by the lambda module: the events module delivers to functions through it. */
  functions?: FunctionInvoker
}

export interface LogEventInput {
  timestamp: number
  message: string
}

export interface LogSink {
  /**
   * Append events to a stream, creating the stream if it is missing, and the log group too
   * unless `createGroup` is false: then events for a group that does not exist are dropped.
   */
  append(
    target: { region: string; group: string; stream: string },
    events: LogEventInput[],
    options?: { createGroup?: boolean }
  ): void
}

export interface FunctionInvoker {
  /** Whether the function exists and its resource policy lets `principal` invoke it from `sourceArn`. */
  allows(functionArn: string, principal: string, sourceArn: string): boolean
  /** Queue an asynchronous (Event) invocation; tracked with cloud.track, retried twice on failure. */
  invokeAsync(functionArn: string, payload: string): void
}

/**
 * Amazon Linux 2023 AMIs the emulator knows: the SSM public parameters
 * (/aws/service/ami-amazon-linux-latest/al2023-ami-*) resolve to these, and
 * EC2 DescribeImages should describe them.
 */
export const AL2023_AMIS = {
  x86_64: { imageId: 'ami-0a2023a1b2c3d4e5f', name: 'al2023-ami-2023.9.20251117.1-kernel-6.1-x86_64' },
  arm64: { imageId: 'ami-0a2023f5e4d3c2b1a', name: 'al2023-ami-2023.9.20251117.1-kernel-6.1-arm64' }
} as const

const AL2023_PARAMETER_PREFIX = '/aws/service/ami-amazon-linux-latest/'
const AL2023_PARAMETER = /^al2023-ami(-minimal)?-kernel-(default|6\.1|6\.12)-(x86_64|arm64)$/

/** The AMI an Amazon Linux 2023 public SSM parameter names, or undefined for any other parameter. */
export function al2023ParameterAmi(name: string): string | undefined {
  if (!name.startsWith(AL2023_PARAMETER_PREFIX)) return undefined
  const m = AL2023_PARAMETER.exec(name.slice(AL2023_PARAMETER_PREFIX.length))
  if (!m) return undefined
  return m[3] === 'arm64' ? AL2023_AMIS.arm64.imageId : AL2023_AMIS.x86_64.imageId
}

/** Lambda workers sign their calls with access key id `${LAMBDA_CALLER_PREFIX}<function name>`. */
export const LAMBDA_CALLER_PREFIX = 'lambda-'

export interface BusEvents {
  'ec2-state-change': [InstanceStateChange]
  /** An event a service sends to EventBridge's default bus itself (Auto Scaling's instance launch and terminate events). */
  'aws-event': [AwsServiceEvent]
  /**
   * Every recorded AWS call, emitted synchronously once the call has been handled and
   * before its response is sent (tests: count, observe, or kill the caller mid-run).
   */
  call: [CallRecord]
}

export interface Cloud {
  readonly accountId: string
  readonly options: EmulatorOptions
  readonly faults: FaultSettings
  readonly simulation: SimulationSettings
  readonly shared: SharedState
  /** EC2 announces state changes here; the events module delivers them to rules. */
  readonly bus: EventEmitter<BusEvents>
  /** The base URL the emulator listens on (for Lambda workers' AWS_ENDPOINT_URL). */
  endpoint(): string
  /** Deterministic random in [0, 1) from the fault seed. */
  random(): number
  /** Register background work (launches, deliveries, invocations) so waitIdle can wait for it. */
  track<T>(work: Promise<T>): Promise<T>
  /** Record a call made outside HTTP routing, if a module needs to. */
  log(record: Omit<CallRecord, 'seq'>): void
}
