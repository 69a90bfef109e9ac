export { createEvents } from './handlers.js'
export { EVENTS_ERRORS } from './errors.js'
