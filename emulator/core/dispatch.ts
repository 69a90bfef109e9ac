/** Runs one AWS call through faults, rate limits and the service module, and records it. */
import { AwsError, callKind } from '../types.js'
import type { EmulatorRequest, EmulatorResponse, ServiceModule } from '../types.js'
import { authorize, callerLabel, type AuthOutcome } from './auth.js'
import type { CoreCloud } from './cloud.js'
import type { RateLimiter } from './rate-limits.js'

export interface DispatchContext {
  cloud: CoreCloud
  limiter?: RateLimiter
  verbose: boolean
  /** Every module by signing name: the authorizer reads the state of the resources a request names. */
  modules?: ReadonlyMap<string, ServiceModule>
}

interface CallOutcome {
  response: EmulatorResponse
  errorCode?: string
  injected?: boolean
  rateLimited?: boolean
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function faultsApply(cloud: CoreCloud, service: string): boolean {
  const only = cloud.faults.services
  return only.length === 0 || only.includes(service)
}

async function injectLatency(cloud: CoreCloud): Promise<void> {
  const { latencyMs, latencyJitterMs } = cloud.faults
  const ms = latencyMs + (latencyJitterMs > 0 ? cloud.random() * latencyJitterMs : 0)
  if (ms > 0) await sleep(ms)
}

/** One of the module's own error codes, with the status its errors module lists. */
function moduleError(module: ServiceModule, code: string, message: string): AwsError {
  return new AwsError(code, message, module.errors[code] ?? 400)
}

/** The injected error for this call: one queued for it (control API), or if the dice say so. */
function injectedError(
  cloud: CoreCloud,
  module: ServiceModule,
  service: string,
  operation: string
): AwsError | undefined {
  const queued = cloud.takeQueuedError(service, operation)
  if (queued) return moduleError(module, queued.code, queued.message ?? `Injected ${queued.code}`)
  if (!faultsApply(cloud, service)) return undefined
  const { throttleRate, serverErrorRate } = cloud.faults
  if (throttleRate > 0 && cloud.random() < throttleRate)
    return moduleError(module, module.throttleCode, 'Rate exceeded')
  if (serverErrorRate > 0 && cloud.random() < serverErrorRate) {
    return moduleError(module, module.serverErrorCode, 'An internal error has occurred')
  }
  return undefined
}

function rateLimited(ctx: DispatchContext, req: EmulatorRequest, operation: string): boolean {
  if (!ctx.limiter) return false
  const body = req.service === 'ec2' ? req.body.toString('utf8') : ''
  const call = { account: ctx.cloud.accountId, region: req.region, service: req.service, operation, body }
  return !ctx.limiter.take(call)
}

function failure(module: ServiceModule, req: EmulatorRequest, err: AwsError, injected?: boolean): CallOutcome {
  // every code a service answers with is listed in its errors module (the errors test covers the list)
  if (!(err.code in module.errors))
    console.error(`emulator: ${module.signingName} answered with ${err.code}, which its errors module does not list`)
  return { response: module.error(err, req), errorCode: err.code, injected }
}

async function runModule(module: ServiceModule, req: EmulatorRequest, operation: string): Promise<CallOutcome> {
  try {
    return { response: await module.handle(operation, req) }
  } catch (err) {
    if (err instanceof AwsError) return failure(module, req, err)
    console.error(`emulator: ${req.service}.${operation} failed:`, err)
    const internal = moduleError(module, module.serverErrorCode, String(err))
    return failure(module, req, internal)
  }
}

async function execute(
  ctx: DispatchContext,
  module: ServiceModule,
  req: EmulatorRequest,
  call: { operation: string; auth: AuthOutcome }
): Promise<CallOutcome> {
  const { operation, auth } = call
  if (faultsApply(ctx.cloud, req.service)) await injectLatency(ctx.cloud)
  const injected = injectedError(ctx.cloud, module, req.service, operation)
  if (injected) return failure(module, req, injected, true)
  if (rateLimited(ctx, req, operation)) {
    const throttled = moduleError(module, module.throttleCode, 'Rate exceeded')
    return { ...failure(module, req, throttled), rateLimited: true }
  }
  if (auth.error) return failure(module, req, auth.error)
  return runModule(module, req, operation)
}

function resolveOperation(module: ServiceModule, req: EmulatorRequest): string | AwsError {
  try {
    return module.operation(req)
  } catch (err) {
    if (err instanceof AwsError) return err
    return moduleError(module, module.serverErrorCode, String(err))
  }
}

/** Handles one AWS request for a known module; never throws. */
export async function dispatch(
  ctx: DispatchContext,
  module: ServiceModule,
  req: EmulatorRequest,
  accessKeyId: string | undefined
): Promise<EmulatorResponse> {
  const op = resolveOperation(module, req)
  const operation = typeof op === 'string' ? op : 'Unknown'
  const caller = callerLabel(ctx.cloud, accessKeyId)
  await ctx.cloud.gate({ caller, service: req.service, operation, kind: callKind(operation) })
  // credentials the emulator issued (role sessions) are authenticated and authorized; others pass
  const auth =
    typeof op === 'string'
      ? authorize({ cloud: ctx.cloud, modules: ctx.modules ?? new Map() }, module, req, { operation: op, accessKeyId })
      : {}
  const started = Date.now()
  const outcome =
    typeof op === 'string' ? await execute(ctx, module, req, { operation: op, auth }) : failure(module, req, op)
  const record = {
    time: started,
    service: req.service,
    operation,
    kind: callKind(operation),
    region: req.region,
    durationMs: Date.now() - started,
    status: outcome.response.status,
    ...(outcome.errorCode ? { errorCode: outcome.errorCode } : {}),
    ...(outcome.injected ? { injected: true } : {}),
    ...(outcome.rateLimited ? { rateLimited: true } : {}),
    ...(caller ? { caller } : {})
  }
  ctx.cloud.log(record)
  if (ctx.verbose) {
    const why = outcome.injected ? ' (injected)' : outcome.rateLimited ? ' (rate limit)' : ''
    const suffix = outcome.errorCode ? ` ${outcome.errorCode}${why}` : ''
    console.error(`${req.service}.${operation} ${req.region} ${record.status} ${record.durationMs}ms${suffix}`)
  }
  return outcome.response
}
