/** Listeners (HTTP, HTTPS with an issued ACM certificate) and their rules (host-header and path-pattern conditions). */
import type {
  Action,
  AddListenerCertificatesInput,
  DescribeListenerCertificatesInput,
  RemoveListenerCertificatesInput,
  CreateListenerInput,
  CreateRuleInput,
  DeleteListenerInput,
  DeleteRuleInput,
  DescribeListenersInput,
  DescribeRulesInput,
  Listener,
  ModifyListenerInput,
  ModifyRuleInput,
  Rule,
  RuleCondition,
  SetRulePrioritiesInput
} from '@aws-sdk/client-elastic-load-balancing-v2'
import type { Cloud } from '../../types.js'
import { issuedCertificate } from '../acm/validation.js'
import { elbError } from './errors.js'
import { findLoadBalancer, newTags } from './load-balancers.js'
import {
  arnPrefix,
  elbState,
  forwardedGroups,
  loadBalancerPath,
  resourceId,
  usesOfGroup,
  type ListenerRecord,
  type LoadBalancerRecord,
  type RuleRecord
} from './model.js'
import { page } from './paging.js'

/**
 * The policy of an HTTPS listener created through the API without one (Security policies for your
 * Application Load Balancer: the console picks another, the API, CLI, CloudFormation and CDK this one).
 */
export const DEFAULT_SSL_POLICY = 'ELBSecurityPolicy-2016-08'

/** A predefined security policy name (Application Load Balancers have no custom policies). */
function checkSslPolicy(policy: string): string {
  if (!/^ELBSecurityPolicy-[A-Za-z0-9-]+$/.test(policy))
    throw elbError('SSLPolicyNotFound', `SSL policy '${policy}' not found`)
  return policy
}
/** Quotas for Application Load Balancers: listeners per load balancer, rules per load balancer (not counting default rules). */
const MAX_LISTENERS = 50
const MAX_RULES = 100
const MAX_CONDITION_VALUES = 5
const TERMINAL = new Set(['forward', 'redirect', 'fixed-response'])
const CONDITION_FIELDS = new Set([
  'host-header',
  'path-pattern',
  'http-header',
  'http-request-method',
  'query-string',
  'source-ip'
])

// ---- actions ----

function checkForward(cloud: Cloud, lb: LoadBalancerRecord, action: Action): void {
  const state = elbState(cloud)
  const arns = forwardedGroups([action])
  if (arns.length === 0) throw elbError('ValidationError', 'A forward action must specify a target group')
  if (arns.length > 5) throw elbError('InvalidLoadBalancerAction', 'A forward action can have at most 5 target groups')
  for (const arn of arns) {
    const tg = state.targetGroups.get(arn)
    if (!tg || tg.region !== lb.region) throw elbError('TargetGroupNotFound', `Target groups '${arn}' not found`)
    if (tg.vpcId !== lb.vpcId)
      throw elbError(
        'InvalidConfigurationRequest',
        `The target group '${arn}' is in VPC '${tg.vpcId}', not in the load balancer's VPC '${lb.vpcId}'`
      )
    const others = usesOfGroup(state, arn).loadBalancers.filter((other) => other.arn !== lb.arn)
    if (others.length > 0)
      throw elbError(
        'TargetGroupAssociationLimit',
        `The following target groups cannot be associated with more than one load balancer: ${arn}`
      )
  }
}

function checkRedirect(action: Action, listener: { protocol: string; port: number }): void {
  const r = action.RedirectConfig
  if (!r) throw elbError('ValidationError', 'A redirect action must have a RedirectConfig')
  if (r.StatusCode !== 'HTTP_301' && r.StatusCode !== 'HTTP_302')
    throw elbError('ValidationError', "The redirect status code must be 'HTTP_301' or 'HTTP_302'")
  const protocol = r.Protocol ?? '#{protocol}'
  if (!['HTTP', 'HTTPS', '#{protocol}'].includes(protocol))
    throw elbError('InvalidLoadBalancerAction', `The redirect protocol '${protocol}' is not valid`)
  const sameProtocol = protocol === '#{protocol}' || protocol === listener.protocol
  const samePort = (r.Port ?? '#{port}') === '#{port}' || r.Port === String(listener.port)
  const samePlace =
    (r.Host ?? '#{host}') === '#{host}' &&
    (r.Path ?? '/#{path}') === '/#{path}' &&
    (r.Query ?? '#{query}') === '#{query}'
  if (sameProtocol && samePort && samePlace)
    throw elbError(
      'InvalidLoadBalancerAction',
      'The redirect configuration is not valid: it redirects to the same URL and would loop'
    )
}

function checkFixedResponse(action: Action): void {
  const f = action.FixedResponseConfig
  if (!f || !/^[245]\d\d$/.test(f.StatusCode ?? ''))
    throw elbError('ValidationError', 'A fixed-response action must have a status code 2XX, 4XX or 5XX')
}

function checkActions(
  cloud: Cloud,
  lb: LoadBalancerRecord,
  actions: Action[] | undefined,
  listener: { protocol: string; port: number }
): Action[] {
  if (!actions || actions.length === 0) throw elbError('ValidationError', 'At least one action must be specified')
  const terminal = actions.filter((a) => TERMINAL.has(a.Type ?? ''))
  if (terminal.length !== 1)
    throw elbError(
      'InvalidLoadBalancerAction',
      'Exactly one forward, redirect or fixed-response action must be specified'
    )
  for (const a of actions) {
    if (a.Type === 'forward') checkForward(cloud, lb, a)
    else if (a.Type === 'redirect') checkRedirect(a, listener)
    else if (a.Type === 'fixed-response') checkFixedResponse(a)
    else
      throw elbError('InvalidLoadBalancerAction', `The action type '${a.Type ?? ''}' is not supported by the emulator`)
  }
  return actions.map((a, i) => ({ ...a, Order: a.Order ?? i + 1 }))
}

// ---- listeners ----

function checkCertificates(
  cloud: Cloud,
  region: string,
  protocol: string,
  certificates: { CertificateArn?: string }[]
): string[] {
  const arns = certificates.map((c) => c.CertificateArn ?? '')
  if (protocol === 'HTTP') {
    if (arns.length > 0) throw elbError('ValidationError', 'Certificates cannot be specified for HTTP listeners')
    return []
  }
  if (arns.length === 0) throw elbError('ValidationError', 'A certificate must be specified for HTTPS listeners')
  if (arns.length > 1)
    throw elbError('TooManyCertificates', 'You can specify exactly one certificate for an HTTPS listener')
  for (const arn of arns)
    if (!issuedCertificate(cloud, region, arn)) throw elbError('CertificateNotFound', `Certificate '${arn}' not found`)
  return arns
}

function checkProtocol(protocol: string | undefined): 'HTTP' | 'HTTPS' {
  if (protocol === 'HTTP' || protocol === 'HTTPS') return protocol
  throw elbError('UnsupportedProtocol', `Protocol '${protocol ?? ''}' is not supported by Application Load Balancers`)
}

function checkPort(port: number | undefined): number {
  if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535)
    throw elbError('ValidationError', `Port '${port ?? ''}' must be between 1 and 65535`)
  return port
}

export function toListener(l: ListenerRecord): Listener {
  return {
    ListenerArn: l.arn,
    LoadBalancerArn: l.loadBalancerArn,
    Port: l.port,
    Protocol: l.protocol as Listener['Protocol'],
    ...(l.certificates.length > 0
      ? { Certificates: l.certificates.map((CertificateArn) => ({ CertificateArn })) }
      : {}),
    ...(l.sslPolicy ? { SslPolicy: l.sslPolicy } : {}),
    DefaultActions: l.defaultActions
  }
}

export function createListener(cloud: Cloud, region: string, input: CreateListenerInput): unknown {
  const lb = findLoadBalancer(cloud, region, input.LoadBalancerArn)
  const protocol = checkProtocol(input.Protocol)
  const port = checkPort(input.Port)
  const certificates = checkCertificates(cloud, region, protocol, input.Certificates ?? [])
  const state = elbState(cloud)
  const mine = [...state.listeners.values()].filter((l) => l.loadBalancerArn === lb.arn)
  const twin = mine.find((l) => l.port === port)
  const actions = checkActions(cloud, lb, input.DefaultActions, { protocol, port })
  if (twin) {
    const same =
      twin.protocol === protocol &&
      JSON.stringify(twin.certificates) === JSON.stringify(certificates) &&
      JSON.stringify(twin.defaultActions) === JSON.stringify(actions)
    if (same) return { Listeners: [toListener(twin)] }
    throw elbError('DuplicateListener', `A listener already exists on this port for this load balancer '${lb.arn}'`)
  }
  if (mine.length >= MAX_LISTENERS)
    throw elbError('TooManyListeners', `You've reached the limit on the number of listeners per load balancer`)
  const path = loadBalancerPath(lb.arn)
  const id = resourceId(cloud)
  const listener: ListenerRecord = {
    arn: `${arnPrefix(cloud, region)}listener/${path}/${id}`,
    loadBalancerArn: lb.arn,
    region,
    port,
    protocol,
    certificates,
    ...(protocol === 'HTTPS' ? { sslPolicy: checkSslPolicy(input.SslPolicy ?? DEFAULT_SSL_POLICY) } : {}),
    defaultActions: actions,
    defaultRuleArn: `${arnPrefix(cloud, region)}listener-rule/${path}/${id}/${resourceId(cloud)}`,
    createdAt: Date.now(),
    tags: newTags(input.Tags)
  }
  state.listeners.set(listener.arn, listener)
  return { Listeners: [toListener(listener)] }
}

export function findListener(cloud: Cloud, region: string, arn: string | undefined): ListenerRecord {
  const l = elbState(cloud).listeners.get(arn ?? '')
  if (!l || l.region !== region) throw elbError('ListenerNotFound', `Listener '${arn ?? ''}' not found`)
  return l
}

export function describeListeners(cloud: Cloud, region: string, input: DescribeListenersInput): unknown {
  const state = elbState(cloud)
  const arns = input.ListenerArns ?? []
  let chosen: ListenerRecord[]
  if (input.LoadBalancerArn) {
    const lb = findLoadBalancer(cloud, region, input.LoadBalancerArn)
    chosen = [...state.listeners.values()].filter((l) => l.loadBalancerArn === lb.arn)
  } else if (arns.length > 0) {
    chosen = arns.map((arn) => findListener(cloud, region, arn))
  } else throw elbError('ValidationError', 'A load balancer ARN or listener ARNs must be specified')
  const { items, next } = page(chosen, input.Marker, input.PageSize)
  return { Listeners: items.map(toListener), NextMarker: next }
}

export function modifyListener(cloud: Cloud, region: string, input: ModifyListenerInput): unknown {
  const listener = findListener(cloud, region, input.ListenerArn)
  const lb = findLoadBalancer(cloud, region, listener.loadBalancerArn)
  const protocol =
    input.Protocol === undefined ? (listener.protocol as 'HTTP' | 'HTTPS') : checkProtocol(input.Protocol)
  const port = input.Port === undefined ? listener.port : checkPort(input.Port)
  const certs =
    input.Certificates !== undefined
      ? input.Certificates
      : protocol === 'HTTPS'
        ? listener.certificates.map((CertificateArn) => ({ CertificateArn }))
        : []
  const certificates = checkCertificates(cloud, region, protocol, certs)
  if (
    port !== listener.port &&
    [...elbState(cloud).listeners.values()].some((l) => l.loadBalancerArn === lb.arn && l.port === port)
  )
    throw elbError('DuplicateListener', `A listener already exists on this port for this load balancer '${lb.arn}'`)
  const actions =
    input.DefaultActions === undefined
      ? listener.defaultActions
      : checkActions(cloud, lb, input.DefaultActions, { protocol, port })
  listener.protocol = protocol
  listener.port = port
  listener.certificates = certificates
  if (protocol === 'HTTPS')
    listener.sslPolicy = checkSslPolicy(input.SslPolicy ?? listener.sslPolicy ?? DEFAULT_SSL_POLICY)
  else delete listener.sslPolicy
  listener.defaultActions = actions
  return { Listeners: [toListener(listener)] }
}

export function deleteListener(cloud: Cloud, region: string, input: DeleteListenerInput): unknown {
  const listener = findListener(cloud, region, input.ListenerArn)
  const state = elbState(cloud)
  for (const r of [...state.rules.values()]) if (r.listenerArn === listener.arn) state.rules.delete(r.arn)
  state.listeners.delete(listener.arn)
  return {}
}

/** A listener's certificates besides its default (served by SNI): HTTPS listeners only, issued certificates only. */
export function addListenerCertificates(cloud: Cloud, region: string, input: AddListenerCertificatesInput): unknown {
  const listener = findListener(cloud, region, input.ListenerArn)
  if (listener.protocol !== 'HTTPS')
    throw elbError('ValidationError', 'Certificates can only be added to HTTPS listeners')
  const arns = (input.Certificates ?? []).map((c) => c.CertificateArn ?? '')
  if (arns.length === 0) throw elbError('ValidationError', 'At least one certificate must be specified')
  for (const arn of arns)
    if (!issuedCertificate(cloud, region, arn)) throw elbError('CertificateNotFound', `Certificate '${arn}' not found`)
  const extra = new Set(listener.extraCertificates ?? [])
  for (const arn of arns) if (!listener.certificates.includes(arn)) extra.add(arn)
  listener.extraCertificates = [...extra]
  return { Certificates: arns.map((CertificateArn) => ({ CertificateArn, IsDefault: false })) }
}

export function removeListenerCertificates(
  cloud: Cloud,
  region: string,
  input: RemoveListenerCertificatesInput
): unknown {
  const listener = findListener(cloud, region, input.ListenerArn)
  const arns = (input.Certificates ?? []).map((c) => c.CertificateArn ?? '')
  if (arns.some((arn) => listener.certificates.includes(arn)))
    throw elbError('OperationNotPermitted', 'The default certificate of a listener cannot be removed')
  listener.extraCertificates = (listener.extraCertificates ?? []).filter((arn) => !arns.includes(arn))
  return {}
}

/** The default certificate (IsDefault) and the others. */
export function describeListenerCertificates(
  cloud: Cloud,
  region: string,
  input: DescribeListenerCertificatesInput
): unknown {
  const listener = findListener(cloud, region, input.ListenerArn)
  const all = [
    ...listener.certificates.map((CertificateArn) => ({ CertificateArn, IsDefault: true })),
    ...(listener.extraCertificates ?? []).map((CertificateArn) => ({ CertificateArn, IsDefault: false }))
  ]
  const { items, next } = page(all, input.Marker, input.PageSize)
  return { Certificates: items, NextMarker: next }
}

// ---- rules ----

function conditionValues(c: RuleCondition): string[] {
  const config =
    c.HostHeaderConfig?.Values ??
    c.PathPatternConfig?.Values ??
    c.HttpHeaderConfig?.Values ??
    c.HttpRequestMethodConfig?.Values ??
    c.SourceIpConfig?.Values ??
    c.QueryStringConfig?.Values?.map((kv) => `${kv.Key ?? ''}=${kv.Value ?? ''}`)
  return config ?? c.Values ?? []
}

function checkConditions(conditions: RuleCondition[] | undefined): RuleCondition[] {
  if (!conditions || conditions.length === 0)
    throw elbError('ValidationError', 'A rule must have at least one condition')
  let total = 0
  const fields = new Set<string>()
  for (const c of conditions) {
    const field = c.Field ?? ''
    if (!CONDITION_FIELDS.has(field)) throw elbError('ValidationError', `Condition field '${field}' is not valid`)
    if (field !== 'http-header' && fields.has(field))
      throw elbError('ValidationError', `A rule can only have one '${field}' condition`)
    fields.add(field)
    const values = conditionValues(c)
    if (values.length === 0) throw elbError('ValidationError', `The '${field}' condition must have at least one value`)
    if (c.Values && (c.HostHeaderConfig || c.PathPatternConfig))
      throw elbError('ValidationError', `The '${field}' condition cannot have both Values and a configuration`)
    for (const v of values) {
      if (v.length > 128) throw elbError('ValidationError', `The condition value '${v}' is longer than 128 characters`)
      if (field === 'host-header' && !/^[A-Za-z0-9.*?-]+$/.test(v))
        throw elbError('ValidationError', `The host header '${v}' contains characters that are not valid`)
      if (field === 'path-pattern' && !/^[A-Za-z0-9_\-.$/~"'@:+&()!,;=*?]+$/.test(v))
        throw elbError('ValidationError', `The path pattern '${v}' contains characters that are not valid`)
    }
    total += values.length
  }
  if (total > MAX_CONDITION_VALUES)
    throw elbError('ValidationError', `A rule can only have '${MAX_CONDITION_VALUES}' condition values`)
  return conditions
}

function checkPriority(priority: number | undefined): number {
  if (priority === undefined || !Number.isInteger(priority) || priority < 1 || priority > 50000)
    throw elbError('ValidationError', `Priority '${priority ?? ''}' must be between 1 and 50000`)
  return priority
}

function toRule(r: RuleRecord): Rule {
  return {
    RuleArn: r.arn,
    Priority: String(r.priority),
    Conditions: r.conditions,
    Actions: r.actions,
    IsDefault: false
  }
}

function defaultRule(l: ListenerRecord): Rule {
  return { RuleArn: l.defaultRuleArn, Priority: 'default', Conditions: [], Actions: l.defaultActions, IsDefault: true }
}

function rulesOfListener(cloud: Cloud, listenerArn: string): RuleRecord[] {
  return [...elbState(cloud).rules.values()]
    .filter((r) => r.listenerArn === listenerArn)
    .sort((a, b) => a.priority - b.priority)
}

export function createRule(cloud: Cloud, region: string, input: CreateRuleInput): unknown {
  const listener = findListener(cloud, region, input.ListenerArn)
  const lb = findLoadBalancer(cloud, region, listener.loadBalancerArn)
  const priority = checkPriority(input.Priority)
  const conditions = checkConditions(input.Conditions)
  const rules = rulesOfListener(cloud, listener.arn)
  if (rules.some((r) => r.priority === priority))
    throw elbError('PriorityInUse', `Priority '${priority}' is currently in use`)
  const onBalancer = [...elbState(cloud).rules.values()].filter(
    (r) => elbState(cloud).listeners.get(r.listenerArn)?.loadBalancerArn === lb.arn
  )
  if (onBalancer.length >= MAX_RULES)
    throw elbError('TooManyRules', `You've reached the limit on the number of rules per load balancer`)
  const actions = checkActions(cloud, lb, input.Actions, listener)
  const listenerPath = listener.arn.replace(/^.*:listener\//, '')
  const rule: RuleRecord = {
    arn: `${arnPrefix(cloud, region)}listener-rule/${listenerPath}/${resourceId(cloud)}`,
    listenerArn: listener.arn,
    region,
    priority,
    conditions,
    actions,
    createdAt: Date.now(),
    tags: newTags(input.Tags)
  }
  elbState(cloud).rules.set(rule.arn, rule)
  return { Rules: [toRule(rule)] }
}

/** A rule by ARN: a rule the caller created, or a listener's default rule. */
function findRule(cloud: Cloud, region: string, arn: string | undefined): RuleRecord | ListenerRecord {
  const state = elbState(cloud)
  const rule = state.rules.get(arn ?? '')
  if (rule && state.listeners.get(rule.listenerArn)?.region === region) return rule
  const listener = [...state.listeners.values()].find((l) => l.defaultRuleArn === arn && l.region === region)
  if (listener) return listener
  throw elbError('RuleNotFound', `One or more rules not found`)
}

const isListener = (r: RuleRecord | ListenerRecord): r is ListenerRecord => 'defaultRuleArn' in r

export function describeRules(cloud: Cloud, region: string, input: DescribeRulesInput): unknown {
  let rules: Rule[]
  if (input.ListenerArn) {
    const listener = findListener(cloud, region, input.ListenerArn)
    rules = [...rulesOfListener(cloud, listener.arn).map(toRule), defaultRule(listener)]
  } else if (input.RuleArns && input.RuleArns.length > 0) {
    rules = input.RuleArns.map((arn) => {
      const r = findRule(cloud, region, arn)
      return isListener(r) ? defaultRule(r) : toRule(r)
    })
  } else throw elbError('ValidationError', 'A listener ARN or rule ARNs must be specified')
  const { items, next } = page(rules, input.Marker, input.PageSize)
  return { Rules: items, NextMarker: next }
}

export function modifyRule(cloud: Cloud, region: string, input: ModifyRuleInput): unknown {
  const found = findRule(cloud, region, input.RuleArn)
  if (isListener(found)) {
    if (input.Conditions !== undefined)
      throw elbError(
        'OperationNotPermitted',
        `The conditions of default rule '${found.defaultRuleArn}' cannot be modified`
      )
    const lb = findLoadBalancer(cloud, region, found.loadBalancerArn)
    if (input.Actions !== undefined) found.defaultActions = checkActions(cloud, lb, input.Actions, found)
    return { Rules: [defaultRule(found)] }
  }
  const listener = findListener(cloud, region, found.listenerArn)
  const lb = findLoadBalancer(cloud, region, listener.loadBalancerArn)
  if (input.Conditions !== undefined) found.conditions = checkConditions(input.Conditions)
  if (input.Actions !== undefined) found.actions = checkActions(cloud, lb, input.Actions, listener)
  return { Rules: [toRule(found)] }
}

export function deleteRule(cloud: Cloud, region: string, input: DeleteRuleInput): unknown {
  const found = findRule(cloud, region, input.RuleArn)
  if (isListener(found))
    throw elbError('OperationNotPermitted', `Default rule '${found.defaultRuleArn}' cannot be deleted`)
  elbState(cloud).rules.delete(found.arn)
  return {}
}

export function setRulePriorities(cloud: Cloud, region: string, input: SetRulePrioritiesInput): unknown {
  const pairs = input.RulePriorities ?? []
  if (pairs.length === 0) throw elbError('ValidationError', 'Rule priorities must be specified')
  const changes = pairs.map((p) => {
    const found = findRule(cloud, region, p.RuleArn)
    if (isListener(found))
      throw elbError('OperationNotPermitted', `The priority of default rule '${found.defaultRuleArn}' cannot be set`)
    return { rule: found, priority: checkPriority(p.Priority) }
  })
  const next = new Map<string, number>()
  for (const r of elbState(cloud).rules.values()) next.set(r.arn, r.priority)
  for (const c of changes) next.set(c.rule.arn, c.priority)
  for (const c of changes) {
    const clash = [...elbState(cloud).rules.values()].find(
      (r) => r.arn !== c.rule.arn && r.listenerArn === c.rule.listenerArn && next.get(r.arn) === c.priority
    )
    if (clash) throw elbError('PriorityInUse', `Priority '${c.priority}' is currently in use`)
  }
  for (const c of changes) c.rule.priority = c.priority
  return { Rules: changes.map((c) => toRule(c.rule)) }
}
