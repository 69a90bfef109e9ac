/** The load balancer's two listeners: HTTPS (the project's certificate; unknown hosts get 404) and HTTP (redirect to HTTPS). */
import {
  CreateListenerCommand,
  DeleteListenerCommand,
  DescribeListenersCommand,
  ModifyListenerCommand,
  type Action,
  type Listener
} from '@aws-sdk/client-elastic-load-balancing-v2'
import { errorCode, wrap } from '../aws/errors.js'
import { tolerate } from '../aws/send.js'
import { LB_NOT_FOUND, publicReads, readLoadBalancer } from './load-balancer.js'
import { tagList, type KindOps, type ReadContext, type Removal, type Upsert } from './kind.js'

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

/** What the HTTPS listener answers a host no rule matches. */
export const NO_SERVICE = 'no service at this host'

const LISTENER_NOT_FOUND = ['ListenerNotFound', 'ListenerNotFoundException']

/** The listener's default action: 404 on HTTPS, a permanent redirect to HTTPS on HTTP. */
export function defaultAction(protocol: 'HTTPS' | 'HTTP'): Action {
  return protocol === 'HTTPS'
    ? {
        Type: 'fixed-response',
        FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain', MessageBody: NO_SERVICE }
      }
    : {
        Type: 'redirect',
        RedirectConfig: {
          Protocol: 'HTTPS',
          Port: '443',
          Host: '#{host}',
          Path: '/#{path}',
          Query: '#{query}',
          StatusCode: 'HTTP_301'
        }
      }
}

/** One line per default action, equal when the actions are: `fixed-response 404 text/plain ...`. */
export function actionKey(actions: Action[] | undefined): string {
  return (actions ?? [])
    .map((a) => {
      if (a.Type === 'fixed-response') {
        const f = a.FixedResponseConfig
        return `fixed-response ${f?.StatusCode ?? ''} ${f?.ContentType ?? ''} ${f?.MessageBody ?? ''}`
      }
      if (a.Type === 'redirect') {
        const r = a.RedirectConfig
        const to = `${r?.Protocol ?? '#{protocol}'}://${r?.Host ?? '#{host}'}:${r?.Port ?? '#{port}'}`
        return `redirect ${r?.StatusCode ?? ''} ${to}${r?.Path ?? '/#{path}'}?${r?.Query ?? '#{query}'}`
      }
      return a.Type ?? ''
    })
    .join('; ')
}

function toListener(l: Listener, lbName: string): CurrentListener {
  const protocol = l.Protocol ?? ''
  return {
    arn: l.ListenerArn ?? '',
    // Named by what its port is for (the desired names): 443 is the HTTPS one, 80 the HTTP one.
    name: `${lbName}/${l.Port === 443 ? 'https' : l.Port === 80 ? 'http' : String(l.Port)}`,
    protocol,
    port: l.Port ?? 0,
    certificateArn: l.Certificates?.[0]?.CertificateArn,
    sslPolicy: l.SslPolicy,
    defaultAction: actionKey(l.DefaultActions)
  }
}

/** The load balancer's listeners, one DescribeListeners shared by the kinds that read them (none without it). */
export function readListeners(ctx: ReadContext): Promise<CurrentListener[] | undefined> {
  return ctx.once('listeners', async () => {
    const lb = await readLoadBalancer(ctx)
    if (!lb) return undefined
    try {
      const out = await ctx.aws.send(new DescribeListenersCommand({ LoadBalancerArn: lb.arn }))
      return (out.Listeners ?? []).map((l) => toListener(l, lb.name))
    } catch (err) {
      // Deleted between the two reads: it has no listeners.
      if (LB_NOT_FOUND.includes(errorCode(err))) return []
      throw wrap(`reading the listeners of load balancer ${lb.name}`, err)
    }
  })
}

/** The HTTPS listener's ARN, when the load balancer and it exist. */
export async function httpsListener(ctx: ReadContext): Promise<string | undefined> {
  return (await readListeners(ctx))?.find((l) => l.protocol === 'HTTPS')?.arn
}

export const listener: KindOps<'listener'> = {
  kind: 'listener',
  noun: 'listener',
  level: 'project',
  dependsOn: ['load-balancer', 'certificate'],
  removeAfter: ['listener-rule', 'stack-certificate'],
  async read(ctx) {
    if (!(await publicReads(ctx))) return {}
    return { listeners: (await readListeners(ctx)) ?? [] }
  },
  diff({ desired, current, planned }) {
    const wanted = desired.public?.listeners ?? []
    // A new (or replaced) project certificate: the HTTPS listener moves to it.
    const cert = planned.find((c) => c.kind === 'certificate')
    const newCertificate = cert?.action === 'create' || cert?.action === 'replace'
    const certArn = current.certificate?.arn
    return wanted.map((l) => {
      const have = current.listeners?.find((c) => c.port === l.port)
      const base = { kind: 'listener' as const, name: l.name, desired: l, current: have }
      if (!have) {
        // The load balancer is there and its endpoints were published (alias records): deleted by hand.
        const drift = current.loadBalancer !== undefined && (current.aliasRecords?.length ?? 0) > 0
        return { ...base, action: 'create' as const, reason: `not found; ${l.protocol} ${l.port}`, drift }
      }
      const reasons: string[] = []
      const fields: string[] = []
      if (have.protocol !== l.protocol) {
        reasons.push(`protocol ${have.protocol} -> ${l.protocol}`)
        fields.push('protocol')
      }
      if (l.protocol === 'HTTPS') {
        if (newCertificate) {
          reasons.push(`certificate -> the new one`)
          fields.push('certificate')
        } else if (certArn && have.certificateArn !== certArn) {
          reasons.push(`certificate ${have.certificateArn ?? 'none'} -> ${certArn}`)
          fields.push('certificate')
        }
        if (have.sslPolicy !== l.sslPolicy) {
          reasons.push(`TLS policy ${have.sslPolicy ?? 'none'} -> ${l.sslPolicy ?? 'none'}`)
          fields.push('sslPolicy')
        }
      }
      const action = actionKey([defaultAction(l.protocol)])
      if (have.defaultAction !== action) {
        reasons.push(`default action ${have.defaultAction || 'none'} -> ${action}`)
        fields.push('defaultAction')
      }
      if (fields.length === 0) return { ...base, action: 'noop' as const, reason: 'up to date' }
      // Nothing of the inputs changes a listener but its certificate: every other difference was made by hand.
      const drift = fields.some((f) => f !== 'certificate') || !newCertificate
      return { ...base, action: 'update' as const, reason: reasons.join('; '), fields, drift }
    })
  },
  removals({ current, destroy }) {
    if (!destroy) return []
    return (current.listeners ?? []).map((l) => ({
      kind: 'listener' as const,
      action: 'delete' as const,
      name: l.name,
      reason: '',
      current: l
    }))
  },
  async apply(change, { e, need }) {
    const l = change.desired
    const have = change.current
    if (change.action === 'noop' && have) return { protocol: l.protocol, arn: have.arn }
    const certificates = l.protocol === 'HTTPS' ? [{ CertificateArn: await need('certificate') }] : undefined
    const settings = {
      Protocol: l.protocol,
      Port: l.port,
      ...(l.protocol === 'HTTPS' ? { SslPolicy: l.sslPolicy, Certificates: certificates } : {}),
      DefaultActions: [defaultAction(l.protocol)]
    }
    let arn: string
    if (have) {
      await e.send(new ModifyListenerCommand({ ListenerArn: have.arn, ...settings }))
      arn = have.arn
    } else {
      const lb = await need('load-balancer')
      try {
        const out = await e.send(
          new CreateListenerCommand({ LoadBalancerArn: lb.arn, ...settings, Tags: tagList(l.tags) })
        )
        arn = out.Listeners?.[0]?.ListenerArn ?? ''
      } catch (err) {
        if (errorCode(err) !== 'DuplicateListener') throw err
        // Made by a run stopped before it saw the answer: adopt it, as this run wants it.
        const out = await e.send(new DescribeListenersCommand({ LoadBalancerArn: lb.arn }))
        const found = out.Listeners?.find((x) => x.Port === l.port)
        if (!found?.ListenerArn) throw err
        arn = found.ListenerArn
        await e.send(new ModifyListenerCommand({ ListenerArn: arn, ...settings }))
      }
    }
    e.done({ kind: 'listener', action: change.action, name: change.name, id: arn })
    return { protocol: l.protocol, arn }
  },
  async remove(changes, { e }) {
    for (const change of changes) {
      const arn = change.current?.arn
      if (!arn) continue
      const deleted = await tolerate(LISTENER_NOT_FOUND, () => e.send(new DeleteListenerCommand({ ListenerArn: arn })))
      if (deleted) e.done({ kind: 'listener', action: 'delete', name: change.name, id: arn })
    }
  }
}
