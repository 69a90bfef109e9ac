/**
 * ECR (AWS JSON 1.1, AmazonEC2ContainerRegistry_V20150921.<Op>, signing name ecr): registry tokens,
 * repositories (settings, lifecycle policies, tags) and images (manifests by digest and tag).
 */
import * as ecr from '@aws-sdk/client-ecr'
import type { Cloud, ServiceModule } from '../../types.js'
import { createJsonModule } from '../../protocols/json-rpc.js'
import { ECR_ERRORS } from './errors.js'
import { handlers } from './handlers.js'
import { ecrStore } from './model.js'

export { ECR_ERRORS } from './errors.js'
export { authorizeImagePull, pullImage, type ImagePullDecision } from './pull.js'
export { manifestDigest } from './images.js'

export function createEcr(cloud: Cloud): ServiceModule {
  return createJsonModule({
    signingName: 'ecr',
    targetPrefix: 'AmazonEC2ContainerRegistry_V20150921',
    schemas: ecr as unknown as Record<string, unknown>,
    errors: ECR_ERRORS,
    throttleCode: 'ThrottlingException',
    serverErrorCode: 'ServerException',
    handlers: handlers(cloud),
    state: () => ({
      repositories: [...ecrStore(cloud).repositories.values()].map((r) => ({
        name: r.name,
        region: r.region,
        arn: r.arn,
        uri: r.uri,
        tags: Object.fromEntries(r.tags.map((t) => [t.Key, t.Value])),
        images: [...r.images.values()].map((i) => ({ digest: i.digest, tags: [...i.tags] }))
      }))
    })
  })
}
