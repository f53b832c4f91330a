/**
 * What the local Mesos claims to be, shared by its master and its agents: Mesos 1.12.0 (the version the
 * transcripts in test/fixtures/real-mesos were recorded with) and the capabilities of a 1.12 agent.
 */

export const MESOS_VERSION = '1.12.0'
export const VERSION_JSON = {build_date: '2024-08-23 00:00:00', build_time: 1724371200, build_user: '', version: MESOS_VERSION}

/** SlaveInfo capabilities of a Mesos 1.12 agent (fixture 09 step 24). */
export const AGENT_CAPABILITIES = [
  'MULTI_ROLE',
  'HIERARCHICAL_ROLE',
  'RESERVATION_REFINEMENT',
  'RESOURCE_PROVIDER',
  'RESIZE_VOLUME',
  'AGENT_OPERATION_FEEDBACK',
  'AGENT_DRAINING',
  'TASK_RESOURCE_LIMITS',
]
