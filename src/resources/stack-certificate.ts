/** A stack's certificate `*.<stack>.<domain>` (a wildcard covers one label), added to the HTTPS listener. */
import {
  AddListenerCertificatesCommand,
  DescribeListenerCertificatesCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  RemoveListenerCertificatesCommand
} from '@aws-sdk/client-elastic-load-balancing-v2'
import {
  asCurrent,
  deleteCertificate,
  deleteReplaced,
  findCertificate,
  leftOvers,
  listCertificates,
  replaceReason,
  requestAndValidate,
  validate,
  withLeftOvers,
  type ReadCertificate
} from '../aws/certificates.js'
import type { Engine } from '../aws/engine.js'
import { errorCode, wrap } from '../aws/errors.js'
import { tolerate, type Aws } from '../aws/send.js'
import { loadBalancerName, type ProjectScope } from '../names.js'
import type { CurrentState } from '../state.js'
import type { CurrentCertificate, DesiredCertificate } from './certificate.js'
import type { DiffContext, KindOps, ReadContext, Removal, Upsert } from './kind.js'
import { httpsListener } from './listener.js'

export type StackCertificateChange =
  Upsert<'stack-certificate', DesiredCertificate, CurrentCertificate> | Removal<'stack-certificate', CurrentCertificate>

const lower = (s: string | undefined): string => (s ?? '').toLowerCase()

/** The project's HTTPS listener and the certificates it serves: undefined when there is no such listener. */
export interface HttpsListener {
  arn: string
  certificates: Set<string>
}

const LISTENER_GONE = ['LoadBalancerNotFound', 'ListenerNotFound']

/** The certificates a listener serves (DescribeListenerCertificates, paged). */
async function listenerCertificates(aws: Aws, listener: string): Promise<Set<string>> {
  const certificates = new Set<string>()
  let marker: string | undefined
  do {
    const page = await aws.send(new DescribeListenerCertificatesCommand({ ListenerArn: listener, Marker: marker }))
    for (const c of page.Certificates ?? []) if (c.CertificateArn) certificates.add(c.CertificateArn)
    marker = page.NextMarker
  } while (marker)
  return certificates
}

/** The load balancer named for the project, its HTTPS listener (DescribeListeners), and that listener's certificates. */
export async function findHttpsListener(aws: Aws, scope: ProjectScope): Promise<HttpsListener | undefined> {
  const name = loadBalancerName(scope)
  try {
    const lbs = await aws.send(new DescribeLoadBalancersCommand({ Names: [name] }))
    const lb = lbs.LoadBalancers?.[0]?.LoadBalancerArn
    if (!lb) return undefined
    const listeners = await aws.send(new DescribeListenersCommand({ LoadBalancerArn: lb }))
    const https = listeners.Listeners?.find((l) => l.Protocol === 'HTTPS')?.ListenerArn
    return https ? { arn: https, certificates: await listenerCertificates(aws, https) } : undefined
  } catch (err) {
    if (LISTENER_GONE.includes(errorCode(err))) return undefined
    throw wrap(`reading the HTTPS listener of load balancer ${name}`, err)
  }
}

/** The stack's certificate as read: `*.<stack>.<domain>`, tagged with the project and the stack. */
export function readStackCertificate(ctx: ReadContext): Promise<ReadCertificate | undefined> {
  return ctx.once('acm-certificates:stack', async () => {
    const domain = ctx.publicZone?.name
    const prefix = `*.${lower(ctx.scope.stack)}.`
    const candidate = (s: { DomainName?: string }): boolean =>
      domain !== undefined
        ? lower(s.DomainName) === `${prefix}${lower(domain)}`
        : lower(s.DomainName).startsWith(prefix)
    const summaries = await listCertificates(ctx.aws, ctx.once)
    return findCertificate(ctx.aws, summaries, candidate, { project: ctx.scope.project, stack: ctx.scope.stack })
  })
}

/** The stack had been served publicly (its alias records exist): a certificate missing or off the listener was taken by hand. */
const served = (current: CurrentState): boolean => (current.aliasRecords ?? []).length > 0

async function detach(e: Engine, listener: string, arn: string): Promise<void> {
  await tolerate([...LISTENER_GONE, 'CertificateNotFound'], () =>
    e.send(new RemoveListenerCertificatesCommand({ ListenerArn: listener, Certificates: [{ CertificateArn: arn }] }))
  )
}

export const stackCertificate: KindOps<'stack-certificate'> = {
  kind: 'stack-certificate',
  noun: 'stack certificate',
  level: 'stack',
  dependsOn: ['listener'],
  removeAfter: ['listener-rule'],
  /** Only with a domain (its public zone), or to destroy; whether the HTTPS listener serves it too. */
  async read(ctx) {
    if (!ctx.publicZone && !ctx.destroy) return {}
    const found = asCurrent(await readStackCertificate(ctx))
    if (!found) return { stackCertificate: undefined }
    // the listener as the listener kind read it (no second DescribeLoadBalancers / DescribeListeners)
    const https = await httpsListener(ctx)
    const listener = https ? { arn: https, certificates: await listenerCertificates(ctx.aws, https) } : undefined
    return { stackCertificate: { ...found, attached: listener?.certificates.has(found.arn) ?? false } }
  },
  diff(ctx) {
    return diffStack(ctx).map((c) => ('desired' in c ? withLeftOvers(c, ctx.current.stackCertificate) : c))
  },
  /** Destroy (a deploy whose stack has no public service left deletes it in its diff). */
  removals({ current, destroy, reason }) {
    const have = current.stackCertificate
    if (!destroy || !have) return []
    return [
      { kind: 'stack-certificate', action: 'delete', name: have.domainName, reason, current: have },
      ...leftOvers(have, reason).map((c) => ({ ...c, kind: 'stack-certificate' as const }))
    ]
  },
  async apply(change, { e, needAll }) {
    const have = change.current
    if (change.action === 'noop') {
      if (!have) throw new Error(`stack certificate ${change.name} was not read`)
      return have.arn
    }
    const others = have?.others ?? []
    let arn: string
    if (change.action === 'update') {
      if (!have) throw new Error(`stack certificate ${change.name} was not read`)
      arn = have.arn
      if (have.status === 'PENDING_VALIDATION') await validate(e, arn, change.desired)
    } else {
      arn = await requestAndValidate(e, change.desired, change.action === 'replace' ? have?.arn : undefined)
    }
    const https = (await needAll('listener')).find((l) => l.protocol === 'HTTPS')
    if (!https) throw new Error(`the plan has no HTTPS listener to add ${change.name} to`)
    // A certificate just issued may not be visible to Elastic Load Balancing for a moment.
    await e.retryOn(['CertificateNotFound'], () =>
      e.send(new AddListenerCertificatesCommand({ ListenerArn: https.arn, Certificates: [{ CertificateArn: arn }] }))
    )
    if (change.action === 'replace' && have && have.arn !== arn) {
      await detach(e, https.arn, have.arn)
      await deleteReplaced(e, have.arn)
    }
    e.done({ kind: 'stack-certificate', action: change.action, name: change.name, id: arn })
    for (const other of others.filter((o) => o !== arn)) {
      await detach(e, https.arn, other)
      if (await deleteReplaced(e, other))
        e.done({ kind: 'stack-certificate', action: 'delete', name: change.name, id: other }, '(left over)')
    }
    return arn
  },
  async remove(changes, { e, scope }) {
    for (const change of changes) {
      const have = change.current
      if (have) {
        const listener = await findHttpsListener(e, scope)
        if (listener?.certificates.has(have.arn)) await detach(e, listener.arn, have.arn)
        await deleteCertificate(e, have.arn, undefined, { keepRecords: have.leftOver })
      }
      e.done({ kind: 'stack-certificate', action: 'delete', name: change.name, id: have?.arn })
    }
  }
}

function diffStack({ desired, current }: DiffContext): StackCertificateChange[] {
  const want = desired.public?.stackCertificate
  const have = current.stackCertificate
  if (!want)
    return have
      ? [
          {
            kind: 'stack-certificate',
            action: 'delete',
            name: have.domainName,
            reason: 'the stack has no public service',
            current: have
          }
        ]
      : []
  const base = { kind: 'stack-certificate' as const, name: want.domainName, desired: want, current: have }
  if (!have)
    return [
      {
        ...base,
        action: 'create',
        reason: `not found; validated through zone ${want.zoneId}, then added to the HTTPS listener`,
        drift: served(current)
      }
    ]
  const why = replaceReason(have, want)
  if (why) return [{ ...base, action: 'replace', reason: why }]
  if (have.status === 'PENDING_VALIDATION')
    return [
      {
        ...base,
        action: 'update',
        reason: 'pending validation: its records are written and waited for, then it is added to the HTTPS listener',
        fields: ['attached']
      }
    ]
  if (!have.attached)
    return [
      {
        ...base,
        action: 'update',
        reason: 'not on the HTTPS listener',
        fields: ['attached'],
        // Not when another certificate of the stack (an earlier run's) is there: that one was served instead.
        drift: served(current) && (have.others ?? []).length === 0
      }
    ]
  return [{ ...base, action: 'noop', reason: 'issued, on the HTTPS listener' }]
}
