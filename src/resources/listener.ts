/** The load balancer's two listeners: HTTPS (the project's certificate; unknown hosts get 404) and HTTP (redirect to HTTPS). */
import { DescribeListenersCommand } from '@aws-sdk/client-elastic-load-balancing-v2'
import type { KindOps, ReadContext, Removal, Upsert } from './kind.js'
import { readLoadBalancer } from './load-balancer.js'

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

/** The HTTPS listener's ARN, when the load balancer and it exist. */
export function httpsListener(ctx: ReadContext): Promise<string | undefined> {
  return ctx.once('https-listener', async () => {
    const lb = await readLoadBalancer(ctx)
    if (!lb) return undefined
    const out = await ctx.aws.send(new DescribeListenersCommand({ LoadBalancerArn: lb.arn }))
    return out.Listeners?.find((l) => l.Protocol === 'HTTPS')?.ListenerArn
  })
}
