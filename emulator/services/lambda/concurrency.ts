/**
 * Lambda concurrency: the account's concurrent executions (simulation.lambdaConcurrency, default 10
 * as on new accounts), functions' reserved concurrency (PutFunctionConcurrency), and the unreserved
 * rest that every other function shares. AWS keeps at least 100 executions unreserved.
 */
import type {
  DeleteFunctionConcurrencyRequest,
  GetAccountSettingsResponse,
  GetFunctionConcurrencyRequest,
  GetFunctionConcurrencyResponse,
  PutFunctionConcurrencyRequest
} from '@aws-sdk/client-lambda'
import type { Cloud } from '../../types.js'
import type { RestContext, RestHandler } from '../../protocols/rest.js'
import { lambdaError } from './errors.js'
import type { Fn, LambdaState } from './model.js'

export const DEFAULT_ACCOUNT_CONCURRENCY = 10
const UNRESERVED_MINIMUM = 100

export function accountLimit(cloud: Cloud): number {
  return cloud.simulation.lambdaConcurrency ?? DEFAULT_ACCOUNT_CONCURRENCY
}

function reservedTotal(state: LambdaState, except?: Fn): number {
  let n = 0
  for (const fn of state.functions.values()) if (fn !== except) n += fn.reservedConcurrency ?? 0
  return n
}

export function unreserved(cloud: Cloud, state: LambdaState): number {
  return Math.max(0, accountLimit(cloud) - reservedTotal(state))
}

/** How many invocations of the function may run at once. */
export function functionLimit(cloud: Cloud, state: LambdaState, functionArn: string): number {
  const fn = [...state.functions.values()].find((f) => f.arn === functionArn)
  return fn?.reservedConcurrency ?? unreserved(cloud, state)
}

export function concurrencyHandlers(
  cloud: Cloud,
  state: LambdaState,
  find: (ref: string | undefined, ctx: RestContext) => Fn
): Record<string, RestHandler> {
  return {
    PutFunctionConcurrency: (input: PutFunctionConcurrencyRequest, ctx: RestContext) => {
      const fn = find(input.FunctionName, ctx)
      const reserved = input.ReservedConcurrentExecutions
      if (reserved === undefined || !Number.isInteger(reserved) || reserved < 0) {
        throw lambdaError(
          'ValidationException',
          `1 validation error detected: Value '${String(reserved)}' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0`
        )
      }
      if (accountLimit(cloud) - reservedTotal(state, fn) - reserved < UNRESERVED_MINIMUM) {
        throw lambdaError(
          'InvalidParameterValueException',
          `Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [${UNRESERVED_MINIMUM}].`
        )
      }
      fn.reservedConcurrency = reserved
      state.executor.limitsChanged()
      return { ReservedConcurrentExecutions: reserved }
    },
    GetFunctionConcurrency: (
      input: GetFunctionConcurrencyRequest,
      ctx: RestContext
    ): GetFunctionConcurrencyResponse => {
      const fn = find(input.FunctionName, ctx)
      return fn.reservedConcurrency === undefined ? {} : { ReservedConcurrentExecutions: fn.reservedConcurrency }
    },
    DeleteFunctionConcurrency: (input: DeleteFunctionConcurrencyRequest, ctx: RestContext) => {
      const fn = find(input.FunctionName, ctx)
      fn.reservedConcurrency = undefined
      state.executor.limitsChanged()
    },
    GetAccountSettings: (_input: unknown, ctx: RestContext): GetAccountSettingsResponse => {
      const functions = [...state.functions.values()].filter((f) => f.region === ctx.region)
      const codeSize = functions.reduce((n, f) => n + f.zip.byteLength, 0)
      return {
        AccountLimit: {
          TotalCodeSize: 80530636800,
          CodeSizeUnzipped: 262144000,
          CodeSizeZipped: 52428800,
          ConcurrentExecutions: accountLimit(cloud),
          UnreservedConcurrentExecutions: unreserved(cloud, state)
        },
        AccountUsage: { TotalCodeSize: codeSize, FunctionCount: functions.length }
      }
    }
  }
}
