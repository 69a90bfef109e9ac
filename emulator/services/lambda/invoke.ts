/** Asynchronous invocation (events, InvocationType Event) and what other modules see of Lambda. */
import type { Cloud, FunctionInvoker, LogSink } from '../../types.js'
import { count, fnKey, liveSnapshot, parseFunctionRef, type Fn, type LambdaState } from './model.js'
import { Throttled } from './exec.js'
import { allowsInvoke } from './policy.js'

/** Lambda retries a failed asynchronous invocation twice, about 1 then 2 minutes later. */
const ASYNC_RETRY_DELAYS_MS = [60_000, 120_000]
/** The emulator's default scale of those delays: 200 then 400 ms. */
const DEFAULT_ASYNC_RETRY_SCALE = 1 / 300

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

export function asyncRetryDelays(cloud: Cloud): number[] {
  const scale = cloud.simulation.asyncRetryScale ?? DEFAULT_ASYNC_RETRY_SCALE
  return ASYNC_RETRY_DELAYS_MS.map((ms) => ms * scale)
}

/**
 * Async invocation: wait until Active, run (queued while the function is at its concurrency
 * limit), retry twice on error like Lambda. A function with reserved concurrency 0 throttles
 * every event; the emulator drops it (AWS keeps retrying throttled events for up to 6 hours).
 */
export function queueAsync(cloud: Cloud, state: LambdaState, fn: Fn, payload: string): void {
  const key = fnKey(fn.region, fn.name)
  const work = async (): Promise<void> => {
    const delays = asyncRetryDelays(cloud)
    for (let attempt = 0; attempt <= delays.length; attempt++) {
      const current = state.functions.get(key)
      if (!current || !state.executor.accepting) return
      const wait = current.activeAt - Date.now()
      if (wait > 0) await sleep(wait)
      let throttled = false
      const result = await state.executor
        .invoke(liveSnapshot(current), payload)
        .then((r) => count(current, r))
        .catch((err: unknown) => {
          throttled = err instanceof Throttled
          return undefined
        })
      if (result?.ok) return
      if (throttled) {
        current.stats.throttles = (current.stats.throttles ?? 0) + 1
        return
      }
      const delay = delays[attempt]
      if (delay === undefined) return
      await sleep(delay)
    }
  }
  void cloud.track(work())
}

export function invoker(cloud: Cloud, state: LambdaState): FunctionInvoker {
  const byArn = (arn: string): Fn | undefined => {
    const { name, region } = parseFunctionRef(arn, '')
    return state.functions.get(fnKey(region, name))
  }
  return {
    allows(arn, principal, sourceArn) {
      const fn = byArn(arn)
      return fn !== undefined && allowsInvoke(fn.policy, principal, sourceArn)
    },
    invokeAsync(arn, payload) {
      const fn = byArn(arn)
      if (fn) queueAsync(cloud, state, fn, payload)
    }
  }
}

/**
 * Where the executor writes function output. A missing log group is created (a convenience: AWS
 * needs logs:CreateLogGroup on the execution role) only while the function exists: the last lines
 * of an invocation that outlives DeleteFunction must not bring back a log group deleted after it.
 */
export function functionLogs(cloud: Cloud, state: LambdaState): LogSink | undefined {
  const sink = cloud.shared.logs
  if (!sink) return undefined
  return {
    append(target, events, options) {
      const name = target.group.replace(/^\/aws\/lambda\//, '')
      const exists = state.functions.has(fnKey(target.region, name))
      sink.append(target, events, { createGroup: exists && options?.createGroup !== false })
    }
  }
}
