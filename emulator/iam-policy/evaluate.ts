/**
 * IAM policy evaluation, as the IAM User Guide's "Policy evaluation logic" describes it for one
 * account: an explicit Deny in any statement that applies wins; otherwise an Allow that applies
 * allows; otherwise the request is implicitly denied. A statement applies when its Action /
 * NotAction, Resource / NotResource (and, in trust policies, Principal) match the request and
 * every condition in its Condition block is true.
 *
 * Matching, as the "IAM JSON policy elements" reference gives it: actions are `service:Action`,
 * case-insensitive, with `*` and `?` wildcards; resources are ARNs compared segment by segment
 * (partition, service, region, account, resource), case-sensitive, with `*` and `?` inside a
 * segment; condition keys are case-insensitive, values case-sensitive unless the operator says
 * IgnoreCase.
 */

export type Decision = 'allow' | 'explicit-deny' | 'implicit-deny'

/** The values of a condition key in the request context: undefined when the key is absent. */
export type ContextLookup = (key: string) => string[] | undefined

/** One authorization question: may the principal perform `action` on `resource`? */
export interface AuthorizationRequest {
  action: string
  /** The resource ARN, or `*` for actions without resource-level permissions. */
  resource: string
  context: ContextLookup
}

/** Who asks, for trust policies (Principal / NotPrincipal). */
export interface PrincipalRef {
  /** `AWS` (an account, user, role or session ARN), `Service`, `Federated`, or `*` (anonymous). */
  type: 'AWS' | 'Service' | 'Federated'
  /** Every value the principal is matched as: e.g. the session ARN, the role ARN and the account. */
  ids: string[]
}

export interface Statement {
  Sid?: string
  Effect: 'Allow' | 'Deny'
  Action?: string | string[]
  NotAction?: string | string[]
  Resource?: string | string[]
  NotResource?: string | string[]
  Principal?: '*' | Record<string, string | string[]>
  NotPrincipal?: Record<string, string | string[]>
  Condition?: Record<string, Record<string, unknown>>
}

export class PolicyError extends Error {}

const list = (v: string | string[] | undefined): string[] | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? v : [v]

/** The statements of a policy document (JSON, possibly URL-encoded as IAM returns it). */
export function statements(document: string): Statement[] {
  let text = document
  if (!text.trimStart().startsWith('{')) {
    try {
      text = decodeURIComponent(text)
    } catch {
      throw new PolicyError('This policy contains invalid Json')
    }
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new PolicyError('This policy contains invalid Json')
  }
  const raw = (parsed as { Statement?: unknown }).Statement
  const all = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]
  for (const s of all as Statement[]) {
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny')
      throw new PolicyError('Policy statement must contain an Effect of Allow or Deny')
    if ((s.Action === undefined) === (s.NotAction === undefined))
      throw new PolicyError('Policy statement must contain exactly one of Action or NotAction')
  }
  return all as Statement[]
}

/** `*` matches any run of characters, `?` any one character. */
function globRegex(pattern: string, ignoreCase: boolean): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')
  return new RegExp(`^${body}$`, ignoreCase ? 'is' : 's')
}

export function globMatch(pattern: string, value: string, ignoreCase = false): boolean {
  if (pattern === '*') return true
  if (!pattern.includes('*') && !pattern.includes('?'))
    return ignoreCase ? pattern.toLowerCase() === value.toLowerCase() : pattern === value
  return globRegex(pattern, ignoreCase).test(value)
}

/** The six parts of an ARN (the resource part keeps its colons). */
function arnParts(arn: string): string[] | undefined {
  const parts = arn.split(':')
  if (parts.length < 6 || parts[0] !== 'arn') return undefined
  return [...parts.slice(0, 5), parts.slice(5).join(':')]
}

/** ArnLike: each of the six colon-delimited parts is matched on its own, with wildcards. */
export function arnLike(pattern: string, arn: string): boolean {
  if (pattern === '*') return true
  const p = arnParts(pattern)
  const a = arnParts(arn)
  if (!p || !a) return globMatch(pattern, arn)
  return p.every((part, i) => globMatch(part, a[i] ?? ''))
}

function actionMatches(patterns: string[], action: string): boolean {
  return patterns.some((p) => globMatch(p, action, true))
}

function resourceMatches(patterns: string[], resource: string): boolean {
  // a request for `*` (no resource-level permissions) only matches a statement whose Resource is `*`
  if (resource === '*') return patterns.includes('*')
  return patterns.some((p) => arnLike(p, resource))
}

function principalMatches(spec: '*' | Record<string, string | string[]>, principal: PrincipalRef): boolean {
  if (spec === '*') return true
  const values = list(spec[principal.type]) ?? []
  return values.some((v) => {
    if (v === '*') return true
    if (principal.type === 'AWS' && /^\d{12}$/.test(v))
      return principal.ids.includes(`arn:aws:iam::${v}:root`) || principal.ids.includes(v)
    return principal.ids.includes(v)
  })
}

type Matcher = (policyValue: string, contextValue: string) => boolean

const STRING_MATCHERS: Record<string, { match: Matcher; negated: boolean }> = {
  StringEquals: { match: (p, c) => p === c, negated: false },
  StringNotEquals: { match: (p, c) => p === c, negated: true },
  StringEqualsIgnoreCase: { match: (p, c) => p.toLowerCase() === c.toLowerCase(), negated: false },
  StringNotEqualsIgnoreCase: { match: (p, c) => p.toLowerCase() === c.toLowerCase(), negated: true },
  StringLike: { match: (p, c) => globMatch(p, c), negated: false },
  StringNotLike: { match: (p, c) => globMatch(p, c), negated: true },
  ArnEquals: { match: (p, c) => arnLike(p, c), negated: false },
  ArnLike: { match: (p, c) => arnLike(p, c), negated: false },
  ArnNotEquals: { match: (p, c) => arnLike(p, c), negated: true },
  ArnNotLike: { match: (p, c) => arnLike(p, c), negated: true },
  Bool: { match: (p, c) => p.toLowerCase() === c.toLowerCase(), negated: false },
  NumericEquals: { match: (p, c) => Number(p) === Number(c), negated: false },
  NumericNotEquals: { match: (p, c) => Number(p) === Number(c), negated: true },
  NumericLessThan: { match: (p, c) => Number(c) < Number(p), negated: false },
  NumericLessThanEquals: { match: (p, c) => Number(c) <= Number(p), negated: false },
  NumericGreaterThan: { match: (p, c) => Number(c) > Number(p), negated: false },
  NumericGreaterThanEquals: { match: (p, c) => Number(c) >= Number(p), negated: false }
}

/** Operators the evaluator knows (with the IfExists suffix and ForAllValues: / ForAnyValue: prefixes). */
export const CONDITION_OPERATORS = [...Object.keys(STRING_MATCHERS), 'Null']

function stringValues(v: unknown): string[] {
  const all = Array.isArray(v) ? (v as unknown[]) : [v]
  return all.map((x) => String(x))
}

/** One condition operator with one key: true when the request context satisfies it. */
function conditionHolds(operator: string, key: string, policyValues: string[], context: ContextLookup): boolean {
  const set = /^(ForAllValues|ForAnyValue):(.+)$/.exec(operator)
  const base = set?.[2] ?? operator
  const ifExists = base.endsWith('IfExists')
  const name = ifExists ? base.slice(0, -'IfExists'.length) : base
  const values = context(key.toLowerCase())
  if (name === 'Null') {
    const absent = values === undefined || values.length === 0
    return policyValues.some((p) => (p.toLowerCase() === 'true') === absent)
  }
  const m = STRING_MATCHERS[name]
  if (!m) throw new PolicyError(`Unsupported condition operator ${operator}`)
  const absent = values === undefined || values.length === 0
  if (absent && ifExists) return true
  const hit = (c: string): boolean => policyValues.some((p) => m.match(p, c))
  if (set?.[1] === 'ForAllValues') {
    // true when every value in the request matches (vacuously true when the key is absent)
    if (absent) return true
    return values.every((c) => (m.negated ? !hit(c) : hit(c)))
  }
  if (set?.[1] === 'ForAnyValue') {
    if (absent) return false
    return values.some((c) => (m.negated ? !hit(c) : hit(c)))
  }
  // single-valued operators: a negated operator is true when the key is absent, a positive one false
  if (absent) return m.negated
  return m.negated ? !values.some(hit) : values.some(hit)
}

function conditionsHold(condition: Statement['Condition'], context: ContextLookup): boolean {
  if (!condition) return true
  return Object.entries(condition).every(([operator, keys]) =>
    Object.entries(keys).every(([key, v]) => conditionHolds(operator, key, stringValues(v), context))
  )
}

/** Whether the statement applies to the request (its effect aside). */
export function statementApplies(s: Statement, req: AuthorizationRequest, principal?: PrincipalRef): boolean {
  const action = list(s.Action)
  const notAction = list(s.NotAction)
  if (action && !actionMatches(action, req.action)) return false
  if (notAction && actionMatches(notAction, req.action)) return false
  const resource = list(s.Resource)
  const notResource = list(s.NotResource)
  if (resource && !resourceMatches(resource, req.resource)) return false
  if (notResource && resourceMatches(notResource, req.resource)) return false
  if (principal) {
    if (s.Principal !== undefined && !principalMatches(s.Principal, principal)) return false
    if (s.NotPrincipal !== undefined && principalMatches(s.NotPrincipal, principal)) return false
    if (s.Principal === undefined && s.NotPrincipal === undefined) return false
  }
  return conditionsHold(s.Condition, req.context)
}

export interface Evaluation {
  decision: Decision
  /** The statements that decided: the denying ones, else the allowing ones. */
  matched: Statement[]
}

/** Evaluates every statement of every policy: explicit deny, then allow, then implicit deny. */
export function evaluate(policies: Statement[][], req: AuthorizationRequest, principal?: PrincipalRef): Evaluation {
  const applying = policies.flat().filter((s) => statementApplies(s, req, principal))
  const denies = applying.filter((s) => s.Effect === 'Deny')
  if (denies.length > 0) return { decision: 'explicit-deny', matched: denies }
  const allows = applying.filter((s) => s.Effect === 'Allow')
  if (allows.length > 0) return { decision: 'allow', matched: allows }
  return { decision: 'implicit-deny', matched: [] }
}
