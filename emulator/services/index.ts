/** Every service the emulator speaks, by SigV4 signing name: one folder each (model, handlers, errors, index). */
import type { Cloud, ServiceModule } from '../types.js'
import { createAcm } from './acm/index.js'
import { createAutoScaling } from './autoscaling/index.js'
import { createEc2 } from './ec2/index.js'
import { createEcr } from './ecr/index.js'
import { createElbv2 } from './elbv2/index.js'
import { createEvents } from './events/index.js'
import { createIam } from './iam/index.js'
import { createLambda } from './lambda/index.js'
import { createLogs } from './logs/index.js'
import { createPricing } from './pricing/index.js'
import { createRoute53 } from './route53/index.js'
import { createSecretsManager } from './secretsmanager/index.js'
import { createSqs } from './sqs/index.js'
import { createSsm } from './ssm/index.js'
import { createSts } from './sts/index.js'

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
  createSsm,
  createSqs,
  createSecretsManager,
  createEcr,
  createElbv2,
  createAcm,
  createPricing
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
