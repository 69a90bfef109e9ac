export { createSsm } from './handlers.js'
export { SSM_ERRORS } from './errors.js'
