/**
 * Subset of Mesos' `include/mesos/v1/master/master.proto` (package mesos.v1.master, proto2) as a string for
 * protobufjs: the operator API calls GET_HEALTH, GET_VERSION, GET_STATE, GET_AGENTS, GET_FRAMEWORKS,
 * GET_EXECUTORS, GET_TASKS, GET_MASTER and their responses, and RESERVE_RESOURCES, UNRESERVE_RESOURCES,
 * CREATE_VOLUMES, DESTROY_VOLUMES (answered 202 without a body). Fields whose
 * numbers we could not confirm (e.g. GetAgents.Agent.deactivated, AgentInfo.checkpoint) are left out and
 * therefore dropped on decode.
 */
export const MASTER_PROTO = `
syntax = "proto2";
package mesos.v1.master;

message Call {
  enum Type {
    UNKNOWN = 0; GET_HEALTH = 1; GET_FLAGS = 2; GET_VERSION = 3; GET_METRICS = 4; GET_STATE = 9;
    GET_AGENTS = 10; GET_FRAMEWORKS = 11; GET_EXECUTORS = 12; GET_TASKS = 13; GET_MASTER = 17;
    SUBSCRIBE = 18; RESERVE_RESOURCES = 19; UNRESERVE_RESOURCES = 20; CREATE_VOLUMES = 21; DESTROY_VOLUMES = 22;
    TEARDOWN = 31;
  }
  message ReserveResources { required AgentID agent_id = 1; repeated Resource source = 3; repeated Resource resources = 2; }
  message UnreserveResources { required AgentID agent_id = 1; repeated Resource resources = 2; }
  message CreateVolumes { required AgentID agent_id = 1; repeated Resource volumes = 2; }
  message DestroyVolumes { required AgentID agent_id = 1; repeated Resource volumes = 2; }
  optional Type type = 1;
  optional ReserveResources reserve_resources = 7;
  optional UnreserveResources unreserve_resources = 8;
  optional CreateVolumes create_volumes = 9;
  optional DestroyVolumes destroy_volumes = 10;
}

message Response {
  enum Type {
    UNKNOWN = 0; GET_HEALTH = 1; GET_FLAGS = 2; GET_VERSION = 3; GET_METRICS = 4; GET_STATE = 8;
    GET_AGENTS = 9; GET_FRAMEWORKS = 10; GET_EXECUTORS = 11; GET_TASKS = 12; GET_MASTER = 15;
  }
  message GetHealth { required bool healthy = 1; }
  message GetVersion { required VersionInfo version_info = 1; }
  message GetState {
    optional GetTasks get_tasks = 1;
    optional GetExecutors get_executors = 2;
    optional GetFrameworks get_frameworks = 3;
    optional GetAgents get_agents = 4;
  }
  message GetAgents {
    message Agent {
      required AgentInfo agent_info = 1;
      required bool active = 2;
      required string version = 3;
      optional string pid = 4;
      optional TimeInfo registered_time = 5;
      optional TimeInfo reregistered_time = 6;
      repeated Resource total_resources = 7;
      repeated Resource allocated_resources = 8;
      repeated Resource offered_resources = 9;
      repeated AgentInfo.Capability capabilities = 10;
    }
    repeated Agent agents = 1;
    repeated AgentInfo recovered_agents = 2;
  }
  message GetFrameworks {
    message Framework {
      required FrameworkInfo framework_info = 1;
      required bool active = 2;
      required bool connected = 3;
      required bool recovered = 4;
      optional TimeInfo registered_time = 5;
      optional TimeInfo reregistered_time = 6;
      optional TimeInfo unregistered_time = 7;
      repeated Offer offers = 8;
      repeated InverseOffer inverse_offers = 9;
      repeated Resource allocated_resources = 10;
      repeated Resource offered_resources = 11;
    }
    repeated Framework frameworks = 1;
    repeated Framework completed_frameworks = 2;
  }
  message GetExecutors {
    message Executor { required ExecutorInfo executor_info = 1; required AgentID agent_id = 2; }
    repeated Executor executors = 1;
  }
  message GetTasks {
    repeated Task pending_tasks = 1;
    repeated Task tasks = 2;
    repeated Task unreachable_tasks = 5;
    repeated Task completed_tasks = 3;
    repeated Task orphan_tasks = 4;
  }
  message GetMaster {
    optional MasterInfo master_info = 1;
    optional double start_time = 2;
    optional double elected_time = 3;
  }
  optional Type type = 1;
  optional GetHealth get_health = 2;
  optional GetVersion get_version = 4;
  optional GetState get_state = 9;
  optional GetAgents get_agents = 10;
  optional GetFrameworks get_frameworks = 11;
  optional GetExecutors get_executors = 12;
  optional GetTasks get_tasks = 13;
  optional GetMaster get_master = 16;
}
`
