/** A public service's host rule on the HTTPS listener: `<service>.<stack>.<domain>` forwards to its target group. */
import type { KindOps, Removal, Upsert } from './kind.js'

export interface DesiredListenerRule {
  /** The host. */
  name: string
  /** The target group's published port. */
  port: number
  tags: Record<string, string>
}

export interface CurrentListenerRule {
  arn: string
  /** The host it matches. */
  name: string
  service: string
  priority: number
  targetGroupArn?: string
}

export type ListenerRuleChange =
  Upsert<'listener-rule', DesiredListenerRule, CurrentListenerRule> | Removal<'listener-rule', CurrentListenerRule>

export const listenerRule: KindOps<'listener-rule'> = {
  kind: 'listener-rule',
  noun: 'listener rule',
  level: 'service',
  dependsOn: ['listener', 'target-group'],
  removeAfter: [],
  diff: () => [],
  removals: () => [],
  apply: () => Promise.reject(new Error('listener rule: not built yet')),
  remove: () => Promise.reject(new Error('listener rule: not built yet'))
}
