/**
 * A Lambda function's execution role credentials: Lambda assumes the role as the service principal
 * `lambda.amazonaws.com` (the role's trust policy must allow it) and hands the function the session
 * through AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. The session is named after
 * the function (arn:aws:sts::<account>:assumed-role/<role>/<function>), carries
 * lambda:SourceFunctionArn, and is logged as the caller `lambda-<function>`.
 */
import { LAMBDA_CALLER_PREFIX, type Cloud } from '../types.js'
import { trustAllows } from './authorize.js'
import { issueSession } from './sessions.js'

export interface FunctionCredentials {
  AWS_ACCESS_KEY_ID: string
  AWS_SECRET_ACCESS_KEY: string
  AWS_SESSION_TOKEN: string
}

/** How long the credentials a function's environment gets stay valid (a worker outlives no more than this). */
const SESSION_SECONDS = 12 * 60 * 60

/** The credentials, or undefined when Lambda cannot assume the role (missing, or its trust policy does not allow lambda.amazonaws.com). */
export function executionRoleCredentials(
  cloud: Cloud,
  fn: { roleArn: string; functionArn: string; functionName: string }
): FunctionCredentials | undefined {
  const role = [...cloud.shared.roles.values()].find((r) => r.arn === fn.roleArn)
  if (!role) return undefined
  const context = { 'aws:sourceaccount': [cloud.accountId] }
  if (!trustAllows(role, 'sts:AssumeRole', { type: 'Service', ids: ['lambda.amazonaws.com'] }, context))
    return undefined
  const session = issueSession(cloud, role, {
    sessionName: fn.functionName,
    durationSeconds: SESSION_SECONDS,
    label: `${LAMBDA_CALLER_PREFIX}${fn.functionName}`,
    context: { 'lambda:sourcefunctionarn': [fn.functionArn] }
  })
  return {
    AWS_ACCESS_KEY_ID: session.accessKeyId,
    AWS_SECRET_ACCESS_KEY: session.secretAccessKey,
    AWS_SESSION_TOKEN: session.sessionToken
  }
}
