/**
 * IAM OpenID Connect identity providers (GitHub Actions' token.actions.githubusercontent.com):
 * STS AssumeRoleWithWebIdentity accepts tokens only from a registered issuer, for one of its
 * client ids (audiences). Kept in iam-policy/store.ts.
 */
import type {
  AddClientIDToOpenIDConnectProviderRequest,
  CreateOpenIDConnectProviderRequest,
  CreateOpenIDConnectProviderResponse,
  DeleteOpenIDConnectProviderRequest,
  GetOpenIDConnectProviderRequest,
  GetOpenIDConnectProviderResponse,
  ListOpenIDConnectProvidersResponse
} from '@aws-sdk/client-iam'
import type { Cloud } from '../../types.js'
import { policyStore, type OidcProvider } from '../../iam-policy/store.js'
import type { QueryHandler } from '../../protocols/query.js'
import { iamError } from './errors.js'

/** The provider's ARN from its URL: the host and path, without the scheme. */
export function oidcProviderArn(accountId: string, url: string): string {
  return `arn:aws:iam::${accountId}:oidc-provider/${url.replace(/^https:\/\//, '').replace(/\/$/, '')}`
}

export function oidcProviderHandlers(cloud: Cloud): Record<string, QueryHandler> {
  const providers = policyStore(cloud).oidcProviders
  const find = (arn: string | undefined): OidcProvider => {
    const p = providers.get(arn ?? '')
    if (!p) throw iamError('NoSuchEntity', `OpenIDConnect Provider not found for arn ${arn ?? ''}`)
    return p
  }
  return {
    CreateOpenIDConnectProvider: (input: CreateOpenIDConnectProviderRequest): CreateOpenIDConnectProviderResponse => {
      const url = input.Url ?? ''
      if (!/^https:\/\/[^\s/]+/.test(url))
        throw iamError('InvalidInput', 'Invalid Url: the URL must begin with https://')
      const arn = oidcProviderArn(cloud.accountId, url)
      if (providers.has(arn)) throw iamError('EntityAlreadyExists', `Provider with url ${url} already exists.`)
      const tags = Object.fromEntries((input.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']))
      providers.set(arn, {
        arn,
        url,
        clientIds: [...(input.ClientIDList ?? [])],
        thumbprints: [...(input.ThumbprintList ?? [])],
        createdAt: Date.now(),
        tags
      })
      return { OpenIDConnectProviderArn: arn, ...(input.Tags ? { Tags: input.Tags } : {}) }
    },
    GetOpenIDConnectProvider: (input: GetOpenIDConnectProviderRequest): GetOpenIDConnectProviderResponse => {
      const p = find(input.OpenIDConnectProviderArn)
      const tags = Object.entries(p.tags).map(([Key, Value]) => ({ Key, Value }))
      return {
        Url: p.url.replace(/^https:\/\//, ''),
        ClientIDList: p.clientIds,
        ThumbprintList: p.thumbprints,
        CreateDate: new Date(p.createdAt),
        ...(tags.length > 0 ? { Tags: tags } : {})
      }
    },
    ListOpenIDConnectProviders: (): ListOpenIDConnectProvidersResponse => ({
      OpenIDConnectProviderList: [...providers.keys()].sort().map((Arn) => ({ Arn }))
    }),
    AddClientIDToOpenIDConnectProvider: (input: AddClientIDToOpenIDConnectProviderRequest) => {
      const p = find(input.OpenIDConnectProviderArn)
      if (input.ClientID && !p.clientIds.includes(input.ClientID)) p.clientIds.push(input.ClientID)
    },
    DeleteOpenIDConnectProvider: (input: DeleteOpenIDConnectProviderRequest) => {
      providers.delete(find(input.OpenIDConnectProviderArn).arn)
    }
  }
}
