/**
 * Mesos v1 messages in their JSON form (Mesos' own protobuf<->JSON rules: snake_case field names,
 * enums as name strings, bytes as standard base64 strings, ids wrapped as {value}). This JSON form is
 * the in-memory representation everywhere in etcd-mesos; protobuf is only a wire encoding
 * (see codec.ts). Only the fields etcd-mesos and mesos-local use are typed; others pass through.
 */
export interface Id {
  value: string
}
export type FrameworkID = Id
export type AgentID = Id
export type OfferID = Id
export type TaskID = Id
export type ExecutorID = Id
export type ContainerID = Id & {parent?: ContainerID}

export interface Label {
  key: string
  value?: string
}
export interface Labels {
  labels: Label[]
}
export interface TimeInfo {
  nanoseconds: number
}
export type DurationInfo = TimeInfo
export interface Address {
  hostname?: string
  ip?: string
  port: number
}
export interface URL {
  scheme: string
  address: Address
  path?: string
}

export interface Range {
  begin: number
  end: number
}
export type ValueType = 'SCALAR' | 'RANGES' | 'SET' | 'TEXT'
export interface Resource {
  name: string
  type: ValueType
  scalar?: {value: number}
  ranges?: {range: Range[]}
  set?: {item: string[]}
  role?: string
  /** Pre-refinement format (frameworks without RESERVATION_REFINEMENT): the reservation's principal/labels. */
  reservation?: Record<string, unknown>
  /** Reservation refinement format: the stack of reservations, last = the role it is reserved to now. */
  reservations?: ReservationInfo[]
  allocation_info?: {role?: string}
  disk?: DiskInfo
  revocable?: Record<string, unknown>
  [extra: string]: unknown
}

/** Resource.ReservationInfo (refinement format). */
export interface ReservationInfo {
  type?: 'STATIC' | 'DYNAMIC' | string
  role?: string
  principal?: string
  labels?: Labels
  [extra: string]: unknown
}

/** Resource.DiskInfo: a persistent volume has `persistence` and `volume`. */
export interface DiskInfo {
  persistence?: {id: string; principal?: string}
  volume?: {mode?: 'RW' | 'RO' | string; container_path: string; [extra: string]: unknown}
  source?: Record<string, unknown>
  [extra: string]: unknown
}

export interface FrameworkInfo {
  user: string
  name: string
  id?: FrameworkID
  failover_timeout?: number
  checkpoint?: boolean
  role?: string
  roles?: string[]
  hostname?: string
  principal?: string
  webui_url?: string
  capabilities?: {type: string}[]
  labels?: Labels
}

export interface MasterInfo {
  id: string
  ip: number
  port: number
  pid?: string
  hostname?: string
  version?: string
  address?: Address
  capabilities?: {type: string}[]
}

export interface AgentInfo {
  hostname: string
  port?: number
  resources?: Resource[]
  attributes?: unknown[]
  id?: AgentID
}

export interface Offer {
  id: OfferID
  framework_id: FrameworkID
  agent_id: AgentID
  hostname: string
  url?: URL
  resources: Resource[]
  attributes?: unknown[]
  executor_ids?: ExecutorID[]
  allocation_info?: {role?: string}
}

export interface Filters {
  refuse_seconds?: number
}

export interface CommandURI {
  value: string
  executable?: boolean
  extract?: boolean
  cache?: boolean
  output_file?: string
}
export interface EnvironmentVariable {
  name: string
  type?: 'VALUE' | 'SECRET'
  value?: string
}
export interface CommandInfo {
  uris?: CommandURI[]
  environment?: {variables: EnvironmentVariable[]}
  shell?: boolean
  value?: string
  arguments?: string[]
  user?: string
}

export interface KillPolicy {
  grace_period?: DurationInfo
}

export interface ExecutorInfo {
  type?: 'UNKNOWN' | 'DEFAULT' | 'CUSTOM'
  executor_id: ExecutorID
  framework_id?: FrameworkID
  command?: CommandInfo
  resources?: Resource[]
  name?: string
  source?: string
  data?: string
  shutdown_grace_period?: DurationInfo
  labels?: Labels
}

export interface DiscoveryInfo {
  visibility: 'FRAMEWORK' | 'CLUSTER' | 'EXTERNAL'
  name?: string
  ports?: {ports: {number: number; name?: string; protocol?: string}[]}
  labels?: Labels
}

export interface TaskInfo {
  name: string
  task_id: TaskID
  agent_id: AgentID
  resources?: Resource[]
  executor?: ExecutorInfo
  command?: CommandInfo
  kill_policy?: KillPolicy
  data?: string // base64
  labels?: Labels
  discovery?: DiscoveryInfo
}

/** Every TaskState Mesos defines (persisted task records are checked against it). */
export const TASK_STATES = [
  'TASK_STAGING',
  'TASK_STARTING',
  'TASK_RUNNING',
  'TASK_KILLING',
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_UNREACHABLE',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
  'TASK_UNKNOWN',
] as const
export type TaskState = (typeof TASK_STATES)[number]

export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set<TaskState>([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
])

export type StatusSource = 'SOURCE_MASTER' | 'SOURCE_AGENT' | 'SOURCE_EXECUTOR'

export interface ContainerStatus {
  container_id?: ContainerID
  network_infos?: {ip_addresses?: {protocol?: 'IPv4' | 'IPv6'; ip_address?: string}[]}[]
  executor_pid?: number
}

export interface TaskStatus {
  task_id: TaskID
  state: TaskState
  message?: string
  source?: StatusSource
  reason?: string
  data?: string // base64
  agent_id?: AgentID
  executor_id?: ExecutorID
  timestamp?: number
  uuid?: string // base64 of 16 bytes
  healthy?: boolean
  labels?: Labels
  container_status?: ContainerStatus
  unreachable_time?: TimeInfo
}

export interface OfferOperation {
  type: 'LAUNCH' | 'LAUNCH_GROUP' | 'RESERVE' | 'UNRESERVE' | 'CREATE' | 'DESTROY' | string
  id?: Id
  launch?: {task_infos: TaskInfo[]}
  reserve?: {resources: Resource[]; source?: Resource[]}
  unreserve?: {resources: Resource[]}
  create?: {volumes: Resource[]}
  destroy?: {volumes: Resource[]}
  [extra: string]: unknown
}

// ---- scheduler.proto (package mesos.v1.scheduler) ----
export type SchedulerCallType =
  | 'UNKNOWN'
  | 'SUBSCRIBE'
  | 'TEARDOWN'
  | 'ACCEPT'
  | 'DECLINE'
  | 'ACCEPT_INVERSE_OFFERS'
  | 'DECLINE_INVERSE_OFFERS'
  | 'REVIVE'
  | 'KILL'
  | 'SHUTDOWN'
  | 'ACKNOWLEDGE'
  | 'ACKNOWLEDGE_OPERATION_STATUS'
  | 'RECONCILE'
  | 'RECONCILE_OPERATIONS'
  | 'MESSAGE'
  | 'REQUEST'
  | 'SUPPRESS'
  | 'UPDATE_FRAMEWORK'

export interface SchedulerCall {
  framework_id?: FrameworkID
  type: SchedulerCallType
  subscribe?: {framework_info: FrameworkInfo; suppressed_roles?: string[]}
  accept?: {offer_ids: OfferID[]; operations?: OfferOperation[]; filters?: Filters}
  decline?: {offer_ids: OfferID[]; filters?: Filters}
  revive?: {roles?: string[]}
  suppress?: {roles?: string[]}
  kill?: {task_id: TaskID; agent_id?: AgentID; kill_policy?: KillPolicy}
  shutdown?: {executor_id: ExecutorID; agent_id: AgentID}
  acknowledge?: {agent_id: AgentID; task_id: TaskID; uuid: string}
  /** `uuid` is OperationStatus.uuid.value (base64 of 16 bytes). */
  acknowledge_operation_status?: {agent_id?: AgentID; uuid: string; operation_id: Id}
  reconcile?: {tasks?: {task_id: TaskID; agent_id?: AgentID}[]}
  message?: {agent_id: AgentID; executor_id: ExecutorID; data: string}
  request?: {requests?: unknown[]}
}

export type SchedulerEventType =
  | 'UNKNOWN'
  | 'SUBSCRIBED'
  | 'OFFERS'
  | 'INVERSE_OFFERS'
  | 'RESCIND'
  | 'RESCIND_INVERSE_OFFER'
  | 'UPDATE'
  | 'UPDATE_OPERATION_STATUS'
  | 'MESSAGE'
  | 'FAILURE'
  | 'ERROR'
  | 'HEARTBEAT'

export interface SchedulerEvent {
  type: SchedulerEventType
  subscribed?: {framework_id: FrameworkID; heartbeat_interval_seconds?: number; master_info?: MasterInfo}
  offers?: {offers: Offer[]}
  rescind?: {offer_id: OfferID}
  update?: {status: TaskStatus}
  message?: {agent_id: AgentID; executor_id: ExecutorID; data: string}
  failure?: {agent_id?: AgentID; executor_id?: ExecutorID; status?: number}
  error?: {message: string}
  update_operation_status?: {status: OperationStatus}
}

/** OperationStatus of UPDATE_OPERATION_STATUS (an operation with an `id`: Surprise 38). */
export interface OperationStatus {
  operation_id?: Id
  state: 'OPERATION_PENDING' | 'OPERATION_FINISHED' | 'OPERATION_FAILED' | 'OPERATION_ERROR' | 'OPERATION_DROPPED' | string
  message?: string
  uuid?: {value: string}
  agent_id?: AgentID
}

// ---- executor.proto (package mesos.v1.executor) ----
export type ExecutorCallType = 'UNKNOWN' | 'SUBSCRIBE' | 'UPDATE' | 'MESSAGE' | 'HEARTBEAT'
export interface ExecutorUpdate {
  status: TaskStatus
}
export interface ExecutorCall {
  executor_id: ExecutorID
  framework_id: FrameworkID
  type: ExecutorCallType
  subscribe?: {unacknowledged_tasks?: TaskInfo[]; unacknowledged_updates?: ExecutorUpdate[]}
  update?: ExecutorUpdate
  message?: {data: string}
}

export type ExecutorEventType =
  | 'UNKNOWN'
  | 'SUBSCRIBED'
  | 'LAUNCH'
  | 'LAUNCH_GROUP'
  | 'KILL'
  | 'ACKNOWLEDGED'
  | 'MESSAGE'
  | 'ERROR'
  | 'SHUTDOWN'
  | 'HEARTBEAT'
export interface ExecutorEvent {
  type: ExecutorEventType
  subscribed?: {executor_info: ExecutorInfo; framework_info: FrameworkInfo; agent_info: AgentInfo; container_id?: ContainerID}
  launch?: {task: TaskInfo}
  kill?: {task_id: TaskID; kill_policy?: KillPolicy}
  acknowledged?: {task_id: TaskID; uuid: string}
  message?: {data: string}
  error?: {message: string}
}

export const CONTENT_JSON = 'application/json'
export const CONTENT_PROTOBUF = 'application/x-protobuf'
export type ContentType = typeof CONTENT_JSON | typeof CONTENT_PROTOBUF
