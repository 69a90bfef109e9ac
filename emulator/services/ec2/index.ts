/** EC2 (ec2Query protocol): VPCs, subnets, images, security groups, launch templates, instances, EBS, tags. */
import * as ec2 from '@aws-sdk/client-ec2'
import type { Cloud, ServiceModule } from '../../types.js'
import { createQueryModule } from '../../protocols/query.js'
import { EC2_ERRORS } from './errors.js'
import { handlers, registerControls, state } from './handlers.js'
import { ec2World } from './model.js'
import { registerImds } from './imds.js'
import { releaseVolumes } from './volumes.js'

export { ec2World } from './model.js'
export { EMULATED_IMAGES } from './describe-network.js'
export { EC2_ERRORS } from './errors.js'

export function createEc2(cloud: Cloud): ServiceModule {
  const w = ec2World(cloud)
  w.network.ensureRegion('us-east-1')
  registerControls(w)
  registerImds(w)
  // a terminated instance's volumes: detached, or deleted when attached with DeleteOnTermination
  w.stateListeners.push((instance) => releaseVolumes(w, instance))
  return createQueryModule({
    signingName: 'ec2',
    flavor: 'ec2',
    xmlns: 'http://ec2.amazonaws.com/doc/2016-11-15/',
    schemas: ec2 as unknown as Record<string, unknown>,
    errors: EC2_ERRORS,
    throttleCode: 'RequestLimitExceeded',
    serverErrorCode: 'InternalError',
    state: () => state(w),
    handlers: handlers(w)
  })
}
