/**
 * EC2's encoded authorization failure message and its decoding (sts:DecodeAuthorizationMessage).
 * The decoded document has the fields AWS's has: allowed, explicitDeny, matchedStatements,
 * failures, and the context (principal, action, resource, conditions). The encoding is the
 * emulator's own (AWS's is opaque and encrypted); only DecodeAuthorizationMessage reads it.
 */
import type { Cloud } from '../types.js'
import type { Denial } from './authorize.js'
import type { RoleSession } from './sessions.js'

const PREFIX = 'EMU1.'

export function encodeAuthorizationMessage(cloud: Cloud, session: RoleSession, denial: Denial): string {
  const conditions = Object.entries(denial.context).map(([key, values]) => ({
    key,
    values: { items: values.map((value) => ({ value })) }
  }))
  const decoded = {
    allowed: false,
    explicitDeny: denial.decision === 'explicit-deny',
    matchedStatements: { items: [] },
    failures: { items: [] },
    context: {
      principal: { id: session.userId, arn: session.arn },
      action: denial.check.action,
      resource: denial.check.resource,
      conditions: { items: conditions }
    },
    account: cloud.accountId
  }
  return PREFIX + Buffer.from(JSON.stringify(decoded), 'utf8').toString('base64url')
}

/** The decoded JSON, or undefined when the message is not one the emulator encoded (for this account). */
export function decodeAuthorizationMessage(cloud: Cloud, encoded: string): string | undefined {
  if (!encoded.startsWith(PREFIX)) return undefined
  try {
    const doc = JSON.parse(Buffer.from(encoded.slice(PREFIX.length), 'base64url').toString('utf8')) as {
      account?: string
    }
    if (doc.account !== cloud.accountId) return undefined
    delete doc.account
    return JSON.stringify(doc)
  } catch {
    return undefined
  }
}
