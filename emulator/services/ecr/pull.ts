/**
 * Whether `docker pull <account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@digest]` with
 * the password of an ECR authorization token succeeds: the token must be one GetAuthorizationToken
 * issued for that region and not expired, the repository must exist, and the caller who asked for
 * the token must be allowed ecr:BatchGetImage (the manifest) and ecr:GetDownloadUrlForLayer (the
 * layers) on the repository, as the ECR User Guide's "Private registry authentication" and
 * "Amazon ECR managed policies" describe. Tokens of credentials the emulator did not issue pull anything.
 * pullImage is the whole pull: authorized, then the manifest the reference names (a tag, `latest`
 * when none, or a digest) must be in the repository, else docker's `manifest unknown`; a pull
 * records the image's lastRecordedPullTime.
 */
import type { Cloud } from '../../types.js'
import { authorizeSession } from '../../iam-policy/authorize.js'
import { findSession, sessionRole } from '../../iam-policy/sessions.js'
import { ecrStore, imageByTag, registryHost, repositoryKey } from './model.js'

export type ImagePullDecision =
  | { allowed: true; repositoryArn: string; imageDigest?: string }
  | {
      allowed: false
      reason: 'no-token' | 'expired' | 'not-found' | 'denied' | 'bad-image' | 'manifest-unknown'
      message: string
    }

/** The actions a pull needs, in the order docker uses them. */
export const PULL_ACTIONS = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'] as const

/** `token` is the password (after `AWS:`) or the whole base64 authorizationToken. */
export function authorizeImagePull(cloud: Cloud, token: string, image: string): ImagePullDecision {
  const store = ecrStore(cloud)
  const decoded = Buffer.from(token, 'base64').toString('utf8')
  const password = decoded.startsWith('AWS:') ? decoded.slice(4) : token
  const issued = store.tokens.get(password)
  if (!issued) return { allowed: false, reason: 'no-token', message: 'no basic auth credentials' }
  if (Date.now() > issued.expiresAt)
    return {
      allowed: false,
      reason: 'expired',
      message: 'denied: Your authorization token has expired. Reauthenticate and try again.'
    }
  const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([^:@]+)(?:[:@].*)?$/.exec(image)
  if (!m) return { allowed: false, reason: 'bad-image', message: `${image} is not an ECR image reference` }
  const [, account = '', region = '', name = ''] = m
  if (region !== issued.region || account !== cloud.accountId)
    return {
      allowed: false,
      reason: 'no-token',
      message: `no basic auth credentials for ${registryHost(account, region)}`
    }
  const repo = store.repositories.get(repositoryKey(region, name))
  if (!repo)
    return {
      allowed: false,
      reason: 'not-found',
      message: `name unknown: The repository with name '${name}' does not exist in the registry with id '${account}'`
    }
  const session = issued.accessKeyId ? findSession(cloud, issued.accessKeyId) : undefined
  if (!session) return { allowed: true, repositoryArn: repo.arn }
  const tags: Record<string, string[]> = {}
  for (const t of repo.tags) {
    tags[`aws:resourcetag/${t.Key}`.toLowerCase()] = [t.Value]
    tags[`ecr:resourcetag/${t.Key}`.toLowerCase()] = [t.Value]
  }
  const denial = authorizeSession(
    cloud,
    { session, role: sessionRole(cloud, session), region },
    PULL_ACTIONS.map((action) => ({ action, resource: repo.arn, context: tags }))
  )
  if (!denial) return { allowed: true, repositoryArn: repo.arn }
  const why =
    denial.decision === 'explicit-deny'
      ? 'with an explicit deny in an identity-based policy'
      : `because no identity-based policy allows the ${denial.check.action} action`
  return {
    allowed: false,
    reason: 'denied',
    message: `denied: User: ${session.arn} is not authorized to perform: ${denial.check.action} on resource: ${repo.arn} ${why}`
  }
}

/** The repository, and the tag or digest, of an ECR image reference (`latest` when it names neither). */
function reference(image: string): { region: string; name: string; tag?: string; digest?: string } | undefined {
  const m = /^\d{12}\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([^:@]+)(?::([^@]+))?(?:@(.+))?$/.exec(image)
  if (!m) return undefined
  const [, region = '', name = '', tag, digest] = m
  return digest !== undefined ? { region, name, digest } : { region, name, tag: tag ?? 'latest' }
}

/**
 * `docker pull` of an ECR image with a token: authorizeImagePull, then the manifest, as a registry
 * answers: `manifest for <image> not found: manifest unknown: Requested image not found` when the
 * repository has no image with that tag or digest. A pull records lastRecordedPullTime.
 */
export function pullImage(cloud: Cloud, token: string, image: string): ImagePullDecision {
  const decision = authorizeImagePull(cloud, token, image)
  if (!decision.allowed) return decision
  const ref = reference(image)
  const repo = ref ? ecrStore(cloud).repositories.get(repositoryKey(ref.region, ref.name)) : undefined
  const found = ref?.digest !== undefined ? repo?.images.get(ref.digest) : repo && imageByTag(repo, ref?.tag ?? '')
  if (!found)
    return {
      allowed: false,
      reason: 'manifest-unknown',
      message: `manifest for ${image} not found: manifest unknown: Requested image not found`
    }
  found.lastPulledAt = Date.now()
  return { ...decision, imageDigest: found.digest }
}
