/** Asynchronous invocation (events, InvocationType Event) and what other modules see of Lambda. */
import type { Cloud, FunctionInvoker, LogSink } from '../../types.js'
import { count, fnKey, liveSnapshot, parseFunctionRef, type Fn, type LambdaState } from './model.js'
import { allowsInvoke } from './policy.js'

const ASYNC_RETRY_DELAYS_MS = [200, 400]

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Async invocation: wait until Active, run, retry twice on error like Lambda (with short delays). */
export function queueAsync(cloud: Cloud, state: LambdaState, fn: Fn, payload: string): void {
  const key = fnKey(fn.region, fn.name)
  const work = async (): Promise<void> => {
    for (let attempt = 0; attempt <= ASYNC_RETRY_DELAYS_MS.length; attempt++) {
      const current = state.functions.get(key)
      if (!current || !state.executor.accepting) return
      const wait = current.activeAt - Date.now()
      if (wait > 0) await sleep(wait)
      const result = await state.executor
        .invoke(liveSnapshot(current), payload)
        .then((r) => count(current, r))
        .catch(() => undefined)
      if (result?.ok) return
      const delay = ASYNC_RETRY_DELAYS_MS[attempt]
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
