/**
 * Queue policies, as far as AWS services sending to a queue need them: does the policy let a
 * service principal (events.amazonaws.com) call sqs:SendMessage on the queue from a source ARN?
 * An explicit Deny wins; an Allow counts when its principal, action, resource and conditions
 * (ArnEquals / ArnLike / StringEquals / StringLike on aws:SourceArn and aws:SourceAccount) match.
 */
import type { Queue } from './model.js'

type Json = string | string[] | Record<string, unknown> | undefined

interface Statement {
  Effect?: string
  Principal?: Json
  Action?: Json
  NotAction?: Json
  Resource?: Json
  Condition?: Record<string, Record<string, string | string[]>>
}

function list(value: Json): string[] {
  if (value === undefined) return []
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.map(String)
  return []
}

function wildcard(pattern: string, value: string, ignoreCase = false): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    ignoreCase ? 'i' : ''
  )
  return re.test(value)
}

function principalMatches(principal: Json, service: string): boolean {
  if (principal === '*') return true
  if (!principal || typeof principal !== 'object' || Array.isArray(principal)) return false
  const p = principal as Record<string, Json>
  return list(p.Service).includes(service) || list(p.AWS).includes('*')
}

function actionMatches(s: Statement, action: string): boolean {
  if (s.NotAction !== undefined) return !list(s.NotAction).some((a) => wildcard(a, action, true))
  return list(s.Action).some((a) => wildcard(a, action, true))
}

/** Every condition block must hold; keys are case-insensitive, a missing context key fails the test. */
function conditionsHold(conditions: Statement['Condition'], context: Record<string, string | undefined>): boolean {
  for (const [operator, block] of Object.entries(conditions ?? {})) {
    for (const [rawKey, rawValues] of Object.entries(block)) {
      const value = context[rawKey.toLowerCase()]
      const values = Array.isArray(rawValues) ? rawValues : [rawValues]
      if (value === undefined) return false
      const op = operator.replace(/IfExists$/, '')
      const ok =
        op === 'ArnEquals' || op === 'StringEquals'
          ? values.includes(value)
          : op === 'ArnLike' || op === 'StringLike'
            ? values.some((v) => wildcard(v, value))
            : op === 'StringEqualsIgnoreCase'
              ? values.some((v) => v.toLowerCase() === value.toLowerCase())
              : false
      if (!ok) return false
    }
  }
  return true
}

export interface SendRequest {
  service: string
  sourceArn: string
  sourceAccount: string
}

/** Whether the queue's policy lets the service send to it on behalf of sourceArn. */
export function allowsServiceSend(queue: Queue, request: SendRequest): boolean {
  const text = queue.attributes.Policy
  if (!text) return false
  let statements: Statement[]
  try {
    const doc = JSON.parse(text) as { Statement?: Statement | Statement[] }
    statements = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : []
  } catch {
    return false
  }
  const context = { 'aws:sourcearn': request.sourceArn, 'aws:sourceaccount': request.sourceAccount }
  const applies = (s: Statement): boolean =>
    principalMatches(s.Principal, request.service) &&
    actionMatches(s, 'sqs:SendMessage') &&
    (s.Resource === undefined || list(s.Resource).some((r) => wildcard(r, queue.arn))) &&
    conditionsHold(s.Condition, context)
  if (statements.some((s) => s.Effect === 'Deny' && applies(s))) return false
  return statements.some((s) => s.Effect === 'Allow' && applies(s))
}
