/**
 * The AWS Price List Query API (AWS JSON 1.1, AWSPriceListService.<Op>, signing name `pricing`), served for the
 * regions AWS serves it from: GetProducts, DescribeServices, GetAttributeValues over the emulator's price catalogue.
 */
import * as pricing from '@aws-sdk/client-pricing'
import type { Cloud, ServiceModule } from '../../types.js'
import { createJsonModule } from '../../protocols/json-rpc.js'
import { PRICING_ERRORS } from './errors.js'
import { handlers } from './handlers.js'
import { PriceList } from './model.js'

export { PRICING_ERRORS } from './errors.js'
export { PRICING_REGIONS } from './handlers.js'

export function createPricing(cloud: Cloud): ServiceModule {
  const priceList = new PriceList()
  return createJsonModule({
    signingName: 'pricing',
    targetPrefix: 'AWSPriceListService',
    schemas: pricing as unknown as Record<string, unknown>,
    errors: PRICING_ERRORS,
    throttleCode: 'ThrottlingException',
    serverErrorCode: 'InternalErrorException',
    handlers: handlers(priceList, cloud),
    state: () => ({ serviceCodes: priceList.serviceCodes() })
  })
}
