/** Lambda resource-based policies: AddPermission statements and the check the events module relies on. */
import { lambdaError } from './errors.js'

export interface PolicyStatement {
  Sid: string
  Effect: 'Allow'
  Principal: string | Record<string, string>
  Action: string
  Resource: string
  Condition?: Record<string, Record<string, string>>
}

export interface PermissionInput {
  statementId: string
  action: string
  principal: string
  sourceArn?: string
  sourceAccount?: string
}

function principalOf(principal: string): PolicyStatement['Principal'] {
  if (principal === '*') return '*'
  if (/^\d{12}$/.test(principal)) return { AWS: `arn:aws:iam::${principal}:root` }
  if (principal.startsWith('arn:')) return { AWS: principal }
  return { Service: principal }
}

export function buildStatement(input: PermissionInput, functionArn: string): PolicyStatement {
  if (!/^[a-zA-Z0-9-_.]{1,100}$/.test(input.statementId)) {
    throw lambdaError(
      'ValidationException',
      `1 validation error detected: Value '${input.statementId}' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_.]+)`
    )
  }
  if (!/^(lambda:[*]|lambda:[a-zA-Z]+|[*])$/.test(input.action)) {
    throw lambdaError(
      'ValidationException',
      `1 validation error detected: Value '${input.action}' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])`
    )
  }
  const statement: PolicyStatement = {
    Sid: input.statementId,
    Effect: 'Allow',
    Principal: principalOf(input.principal),
    Action: input.action,
    Resource: functionArn
  }
  const condition: Record<string, Record<string, string>> = {}
  if (input.sourceArn) condition.ArnLike = { 'AWS:SourceArn': input.sourceArn }
  if (input.sourceAccount) condition.StringEquals = { 'AWS:SourceAccount': input.sourceAccount }
  if (Object.keys(condition).length > 0) statement.Condition = condition
  return statement
}

function wildcardMatch(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`
  )
  return re.test(value)
}

function principalMatches(p: PolicyStatement['Principal'], principal: string): boolean {
  if (p === '*') return true
  if (typeof p === 'string') return p === principal
  return p.Service === principal || p.AWS === principal
}

function conditionMatches(condition: PolicyStatement['Condition'], sourceArn: string): boolean {
  if (!condition) return true
  const like = condition.ArnLike?.['AWS:SourceArn']
  const equals = condition.ArnEquals?.['AWS:SourceArn']
  if (like !== undefined && !wildcardMatch(like, sourceArn)) return false
  if (equals !== undefined && equals !== sourceArn) return false
  return true
}

/** Whether the statements allow principal to call lambda:InvokeFunction from sourceArn. */
export function allowsInvoke(statements: PolicyStatement[], principal: string, sourceArn: string): boolean {
  return statements.some(
    (s) =>
      s.Effect === 'Allow' &&
      ['lambda:InvokeFunction', 'lambda:*', '*'].includes(s.Action) &&
      principalMatches(s.Principal, principal) &&
      conditionMatches(s.Condition, sourceArn)
  )
}

export function policyDocument(statements: PolicyStatement[]): string {
  return JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: statements })
}
