/**
 * The one place Lambda gives a function its execution role's credentials (emulator/iam-policy
 * evaluates the function's calls against the role's policies). When Lambda cannot assume the role,
 * the invocation fails.
 */
import type { Cloud } from '../../types.js'
import { executionRoleCredentials } from '../../iam-policy/execution-role.js'
import { lambdaError } from './errors.js'
import type { CodeSnapshot } from './exec.js'
import type { LambdaState } from './model.js'

export function executionRole(cloud: Cloud, state: LambdaState, snapshot: CodeSnapshot): Record<string, string> {
  const fn = [...state.functions.values()].find((f) => f.arn === snapshot.functionArn)
  const roleArn = fn?.config.role ?? ''
  const credentials = executionRoleCredentials(cloud, {
    roleArn,
    functionArn: snapshot.functionArn,
    functionName: snapshot.functionName
  })
  if (!credentials)
    throw lambdaError(
      'InvalidParameterValueException',
      'The role defined for the function cannot be assumed by Lambda.'
    )
  return { ...credentials }
}
