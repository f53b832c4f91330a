/**
 * Public API of the pure scheduler core (see step.ts for the reducer contract, actions.ts for the
 * driver contract, persist.ts for the persisted document).
 */
export {step, type StepResult} from './step.js'
export {initialState, toPersistedDoc, serializePersistedDoc, parsePersistedDoc, PersistedDocError, PERSISTED_DOC_VERSION, type PersistedDoc} from './persist.js'
export {resolveConfig, SchedulerConfigError, CONFIG_DEFAULTS, type SchedulerConfig, type SchedulerConfigInput} from './config.js'
export type {SchedulerEvent, SchedulerEventType, TimerName} from './events.js'
export {EXIT_FATAL, EXIT_FRAMEWORK_REMOVED, type SchedulerAction, type SchedulerActionType, type LogLevel} from './actions.js'
export {modeOf, type Mode, type SchedulerState, type TaskRecord, type Stats, type ReseedProgress, type OperationRecord, type EtcdMember} from './state.js'
export {matchOffer, type OfferMatch, type ResourceRequest, type OfferConstraints} from './offers.js'
export {describe, type SchedulerView} from './view.js'
