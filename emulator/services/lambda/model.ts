/** Lambda's state: functions (configuration, code, resource policy, tags, invocation counts) and the executor that runs them. */
import type { FunctionConfiguration } from '@aws-sdk/client-lambda'
import type { Cloud } from '../../types.js'
import { lambdaError } from './errors.js'
import type { CodeSnapshot, InvokeResult, LambdaExecutor } from './exec.js'
import type { PolicyStatement } from './policy.js'

export interface FnConfig {
  role: string
  runtime: string
  handler: string
  description: string
  timeout: number
  memorySize: number
  env: Record<string, string>
  architectures: string[]
}

export interface Fn {
  name: string
  region: string
  arn: string
  config: FnConfig
  zip: Uint8Array
  codeSha256: string
  activeAt: number
  updateDoneAt: number
  /** What invocations run while an update is in progress. */
  previous?: CodeSnapshot
  revisionId: string
  lastModified: number
  policy: PolicyStatement[]
  /** Invocations run (sync and async, retries included) and how many of them failed. */
  stats: { invocations: number; errors: number; throttles?: number }
  /** PutFunctionConcurrency: at most this many invocations at once, kept for this function alone. */
  reservedConcurrency?: number
  tags: Record<string, string>
}

export interface LambdaState {
  functions: Map<string, Fn>
  executor: LambdaExecutor
  /** Event source mappings by UUID (esm.ts). */
  mappings: Map<string, EventSourceMapping>
}

/** An SQS event source mapping: its configuration, its state, and what its poller keeps. */
export interface EventSourceMapping {
  uuid: string
  region: string
  arn: string
  eventSourceArn: string
  functionArn: string
  batchSize: number
  batchingWindowSeconds: number
  maximumConcurrency?: number
  functionResponseTypes: string[]
  enabled: boolean
  /** Creating, Enabling, Enabled, Disabling, Disabled, Updating, Deleting. */
  state: string
  lastModified: number
  lastProcessingResult: string
  /** Batches the poller handed to the function, the records in them, the largest batch. */
  stats: { batches: number; records: number; largestBatch: number }
  /** The poller's own: invocations running, and what wakes it or ends its busy period. */
  poller: { inflight: number; stopped: boolean; wake?: () => void; idle?: () => void; unsubscribe?: () => void }
}

export function fnKey(region: string, name: string): string {
  return `${region}/${name}`
}

function lambdaTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000')
}

export function functionArn(cloud: Cloud, region: string, name: string): string {
  return `arn:aws:lambda:${region}:${cloud.accountId}:function:${name}`
}

/** FunctionName as a name, a full ARN or a partial ARN (123456789012:function:name). */
export function parseFunctionRef(ref: string, defaultRegion: string): { name: string; region: string } {
  const m = /^(?:arn:aws[a-z-]*:lambda:([a-z0-9-]+):)?(?:\d{12}:)?(?:function:)?([a-zA-Z0-9-_]+)(?::[$\w-]+)?$/.exec(
    ref
  )
  if (!m?.[2])
    throw lambdaError(
      'ValidationException',
      `1 validation error detected: Value '${ref}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern`
    )
  return { name: m[2], region: m[1] ?? defaultRegion }
}

function stateOf(fn: Fn): Pick<FunctionConfiguration, 'State' | 'StateReason' | 'StateReasonCode'> {
  if (Date.now() < fn.activeAt)
    return { State: 'Pending', StateReason: 'The function is being created.', StateReasonCode: 'Creating' }
  return { State: 'Active' }
}

function updateStatus(
  fn: Fn
): Pick<FunctionConfiguration, 'LastUpdateStatus' | 'LastUpdateStatusReason' | 'LastUpdateStatusReasonCode'> {
  if (Date.now() < fn.updateDoneAt)
    return {
      LastUpdateStatus: 'InProgress',
      LastUpdateStatusReason: 'The function is being updated.',
      LastUpdateStatusReasonCode: 'Updating' as FunctionConfiguration['LastUpdateStatusReasonCode']
    }
  return { LastUpdateStatus: 'Successful' }
}

export function configuration(fn: Fn): FunctionConfiguration {
  const c = fn.config
  return {
    FunctionName: fn.name,
    FunctionArn: fn.arn,
    Runtime: c.runtime as FunctionConfiguration['Runtime'],
    Role: c.role,
    Handler: c.handler,
    CodeSize: fn.zip.byteLength,
    Description: c.description,
    Timeout: c.timeout,
    MemorySize: c.memorySize,
    LastModified: lambdaTime(fn.lastModified),
    CodeSha256: fn.codeSha256,
    Version: '$LATEST',
    Environment: { Variables: c.env },
    TracingConfig: { Mode: 'PassThrough' },
    RevisionId: fn.revisionId,
    ...stateOf(fn),
    ...updateStatus(fn),
    PackageType: 'Zip',
    Architectures: c.architectures as FunctionConfiguration['Architectures'],
    EphemeralStorage: { Size: 512 },
    SnapStart: { ApplyOn: 'None', OptimizationStatus: 'Off' },
    LoggingConfig: { LogFormat: 'Text', LogGroup: `/aws/lambda/${fn.name}` }
  }
}

export function snapshot(fn: Fn): CodeSnapshot {
  return {
    key: `${fn.region}-${fn.name}-${fn.revisionId}`,
    functionName: fn.name,
    functionArn: fn.arn,
    region: fn.region,
    zip: fn.zip,
    handler: fn.config.handler,
    runtime: fn.config.runtime,
    env: fn.config.env,
    timeoutSec: fn.config.timeout,
    memoryMb: fn.config.memorySize
  }
}

/** The code invocations run: the previous code while an update is in progress. */
export function liveSnapshot(fn: Fn): CodeSnapshot {
  return Date.now() < fn.updateDoneAt && fn.previous ? fn.previous : snapshot(fn)
}

export function count(fn: Fn, result: InvokeResult): InvokeResult {
  fn.stats.invocations += 1
  if (!result.ok) fn.stats.errors += 1
  return result
}
