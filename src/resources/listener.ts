/** The load balancer's two listeners: HTTPS (the project's certificate; unknown hosts get 404) and HTTP (redirect to HTTPS). */
import type { KindOps, Removal, Upsert } from './kind.js'

export interface DesiredListener {
  /** `<load balancer>/https` or `<load balancer>/http`. */
  name: string
  protocol: 'HTTPS' | 'HTTP'
  port: 443 | 80
  /** HTTPS: the TLS policy. */
  sslPolicy?: string
  tags: Record<string, string>
}

export interface CurrentListener {
  arn: string
  name: string
  protocol: string
  port: number
  /** HTTPS: the default certificate. */
  certificateArn?: string
  sslPolicy?: string
  /** The default action's type: fixed-response (HTTPS) or redirect (HTTP) when the action made it. */
  defaultAction?: string
}

/** What a listener hands its dependants (rules and stack certificates need the HTTPS one). */
export interface ListenerRef {
  protocol: 'HTTPS' | 'HTTP'
  arn: string
}

export type ListenerChange = Upsert<'listener', DesiredListener, CurrentListener> | Removal<'listener', CurrentListener>

export const listener: KindOps<'listener'> = {
  kind: 'listener',
  noun: 'listener',
  level: 'project',
  dependsOn: ['load-balancer', 'certificate'],
  removeAfter: ['listener-rule', 'stack-certificate'],
  diff: () => [],
  removals: () => [],
  apply: () => Promise.reject(new Error('listener: not built yet')),
  remove: () => Promise.reject(new Error('listener: not built yet'))
}
