/**
 * The lifecycle policy text PutLifecyclePolicy accepts (ECR User Guide, "Lifecycle policy
 * properties"): `{"rules": [...]}`, each rule with a unique positive `rulePriority`, a `selection`
 * (`tagStatus` tagged | untagged | any; `tagPrefixList` or `tagPatternList` exactly when tagged;
 * `countType` imageCountMoreThan | sinceImagePushed (the latter with `countUnit` days);
 * a positive integer `countNumber`) and an `action` of type expire; a rule with tagStatus any
 * must have the highest priority. The emulator stores the policy; it does not expire images.
 */
import { ecrError } from './errors.js'

const fail = (why: string): Error =>
  ecrError(
    'InvalidParameterException',
    `Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: ${why}'`
  )

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isPositiveInteger = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1
const isStringList = (v: unknown): v is string[] =>
  Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string' && s.length > 0)

/** Throws InvalidParameterException naming what is wrong with the policy text. */
export function validateLifecyclePolicy(text: string): void {
  if (text.length < 100 || text.length > 30720)
    throw fail('the policy text must be between 100 and 30720 characters long')
  let policy: unknown
  try {
    policy = JSON.parse(text)
  } catch {
    throw fail('Could not map policyString into LifecyclePolicy.')
  }
  if (!isObject(policy) || !Array.isArray(policy.rules) || policy.rules.length === 0)
    throw fail('Could not map policyString into LifecyclePolicy.')
  const priorities = new Set<number>()
  let anyPriority: number | undefined
  for (const rule of policy.rules as unknown[]) {
    if (!isObject(rule)) throw fail('Could not map policyString into LifecyclePolicy.')
    const priority = rule.rulePriority
    if (!isPositiveInteger(priority)) throw fail('rulePriority must be a positive integer')
    if (priorities.has(priority)) throw fail(`rulePriority ${priority} is used by more than one rule`)
    priorities.add(priority)
    if (rule.description !== undefined && typeof rule.description !== 'string')
      throw fail('description must be a string')
    const selection = rule.selection
    if (!isObject(selection)) throw fail(`rule ${priority} has no selection`)
    const status = selection.tagStatus
    if (status !== 'tagged' && status !== 'untagged' && status !== 'any')
      throw fail(`rule ${priority}: tagStatus must be one of tagged, untagged, any`)
    const lists = ['tagPrefixList', 'tagPatternList'].filter((k) => selection[k] !== undefined)
    if (status === 'tagged') {
      if (lists.length !== 1) throw fail(`rule ${priority}: a tagged selection needs tagPrefixList or tagPatternList`)
      if (!isStringList(selection[lists[0] ?? ''])) throw fail(`rule ${priority}: ${lists[0]} must list strings`)
    } else if (lists.length > 0) throw fail(`rule ${priority}: ${lists[0]} is allowed only with tagStatus tagged`)
    const countType = selection.countType
    if (countType === 'sinceImagePushed') {
      if (selection.countUnit !== 'days') throw fail(`rule ${priority}: sinceImagePushed needs countUnit days`)
    } else if (countType === 'imageCountMoreThan') {
      if (selection.countUnit !== undefined)
        throw fail(`rule ${priority}: countUnit is not allowed with imageCountMoreThan`)
    } else throw fail(`rule ${priority}: countType must be imageCountMoreThan or sinceImagePushed`)
    if (!isPositiveInteger(selection.countNumber))
      throw fail(`rule ${priority}: countNumber must be a positive integer`)
    if (!isObject(rule.action) || rule.action.type !== 'expire')
      throw fail(`rule ${priority}: action type must be expire`)
    if (status === 'any') {
      if (anyPriority !== undefined) throw fail('only one rule may have tagStatus any')
      anyPriority = priority
    }
  }
  const last = anyPriority
  if (last !== undefined && [...priorities].some((p) => p > last))
    throw fail('the rule with tagStatus any must have the highest rulePriority')
}
