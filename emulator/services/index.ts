/** Every service the emulator speaks, by SigV4 signing name. */
import type { Cloud, ServiceModule } from '../types.js'
import { createAutoScaling } from './autoscaling.js'
import { createEc2 } from './ec2.js'
import { createEvents } from './events.js'
import { createIam } from './iam.js'
import { createLambda } from './lambda.js'
import { createLogs } from './logs.js'
import { createRoute53 } from './route53.js'
import { createSsm } from './ssm.js'
import { createSts } from './sts.js'

export type ServiceFactory = (cloud: Cloud) => ServiceModule

export const SERVICE_FACTORIES: readonly ServiceFactory[] = [
  createEc2,
  createAutoScaling,
  createIam,
  createSts,
  createRoute53,
  createLambda,
  createEvents,
  createLogs,
  createSsm
]

/** Creates all modules for one cloud, keyed by signing name. */
export function createServiceModules(cloud: Cloud): Map<string, ServiceModule> {
  const modules = new Map<string, ServiceModule>()
  for (const factory of SERVICE_FACTORIES) {
    const module = factory(cloud)
    modules.set(module.signingName, module)
  }
  return modules
}
