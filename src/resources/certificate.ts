/** The project's certificate `*.<domain>` and `<domain>`: the HTTPS listener's default, DNS-validated through the public zone. */
import type { CertificateSummary } from '@aws-sdk/client-acm'
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
import type { DiffContext, KindOps, ReadContext, Removal, Upsert } from './kind.js'

export interface DesiredCertificate {
  /** `*.<domain>` for the project's, `*.<stack>.<domain>` for a stack's. */
  domainName: string
  /** Its other names: `<domain>` for the project's; none for a stack's. */
  alternativeNames: string[]
  /** The public hosted zone its validation records go into. */
  zoneId: string
  tags: Record<string, string>
}

export interface CurrentCertificate {
  arn: string
  domainName: string
  alternativeNames: string[]
  /** ACM's status: PENDING_VALIDATION, ISSUED, FAILED, EXPIRED, REVOKED, INACTIVE, VALIDATION_TIMED_OUT. */
  status: string
  /** Expiry, ms since the epoch. */
  notAfter?: number
  /** Stack certificates: whether the HTTPS listener serves it (its listener certificates list it). */
  attached?: boolean
  /** Further certificates of the same owner (a replacement killed half way left them): deleted. */
  others?: string[]
  /** This one is such a further certificate: it goes, its validation records (the kept one's too) stay. */
  leftOver?: boolean
}

export type CertificateChange =
  Upsert<'certificate', DesiredCertificate, CurrentCertificate> | Removal<'certificate', CurrentCertificate>

const lower = (s: string | undefined): string => (s ?? '').toLowerCase()

/**
 * The project's certificate as read: `*.<domain>` with `<domain>` among its names, tagged with the
 * project and no stack. With no domain input (destroy) every wildcard certificate naming its own
 * parent is a candidate, and the tags decide.
 */
export function readProjectCertificate(ctx: ReadContext): Promise<ReadCertificate | undefined> {
  return ctx.once('acm-certificates:project', async () => {
    const domain = ctx.publicZone?.name
    const candidate = (s: CertificateSummary): boolean => {
      const name = lower(s.DomainName)
      if (domain !== undefined) return name === `*.${lower(domain)}`
      return name.startsWith('*.') && (s.SubjectAlternativeNameSummaries ?? []).map(lower).includes(name.slice(2))
    }
    const summaries = await listCertificates(ctx.aws, ctx.once)
    return findCertificate(ctx.aws, summaries, candidate, { project: ctx.scope.project })
  })
}

export const certificate: KindOps<'certificate'> = {
  kind: 'certificate',
  noun: 'certificate',
  level: 'project',
  dependsOn: [],
  removeAfter: ['listener'],
  /** Only with a domain (its public zone), or to destroy: a deploy without a domain reads nothing here. */
  async read(ctx) {
    if (!ctx.publicZone && !ctx.destroy) return {}
    return { certificate: asCurrent(await readProjectCertificate(ctx)) }
  },
  diff(ctx) {
    return diffProject(ctx).map((c) => ('desired' in c ? withLeftOvers(c, ctx.current.certificate) : c))
  },
  /** Destroy: the project's last stack takes it (destroyPlan keeps it while another stack remains). */
  removals({ current, destroy, reason }) {
    const have = current.certificate
    if (!destroy || !have) return []
    return [
      { kind: 'certificate', action: 'delete', name: have.domainName, reason, current: have },
      ...leftOvers(have, reason).map((c) => ({ ...c, kind: 'certificate' as const }))
    ]
  },
  async apply(change, { e }) {
    const have = change.current
    let arn: string
    if (change.action === 'noop' || change.action === 'update') {
      if (!have) throw new Error(`certificate ${change.name} was not read`)
      arn = have.arn
      if (have.status === 'PENDING_VALIDATION') {
        await validate(e, have.arn, change.desired)
        e.done({ kind: 'certificate', action: 'update', name: change.name, id: have.arn }, 'validated')
      }
    } else {
      const replaces = change.action === 'replace' ? have?.arn : undefined
      arn = await requestAndValidate(e, change.desired, replaces)
      if (replaces && replaces !== arn) await deleteReplaced(e, replaces)
      e.done({ kind: 'certificate', action: change.action, name: change.name, id: arn })
    }
    for (const other of have?.others ?? [])
      if (other !== arn && (await deleteReplaced(e, other)))
        e.done({ kind: 'certificate', action: 'delete', name: change.name, id: other }, '(left over)')
    return arn
  },
  async remove(changes, { e }) {
    for (const change of changes) {
      const have = change.current
      if (have) await deleteCertificate(e, have.arn, undefined, { keepRecords: have.leftOver })
      e.done({ kind: 'certificate', action: 'delete', name: change.name, id: have?.arn })
    }
  }
}

function diffProject({ desired, current }: DiffContext): CertificateChange[] {
  const want = desired.public?.certificate
  if (!want) return []
  const have = current.certificate
  const base = { kind: 'certificate' as const, name: want.domainName, desired: want, current: have }
  if (!have)
    return [
      {
        ...base,
        action: 'create',
        reason: `not found; validated through zone ${want.zoneId}`,
        drift: current.loadBalancer !== undefined
      }
    ]
  const why = replaceReason(have, want)
  if (why) return [{ ...base, action: 'replace', reason: why }]
  if (have.status === 'PENDING_VALIDATION')
    return [{ ...base, action: 'noop', reason: 'pending validation: its records are written and waited for' }]
  return [{ ...base, action: 'noop', reason: 'issued' }]
}
