// Minimal ambient types for node-zookeeper-client (it ships none). Only src/lib/zk uses it.
declare module 'node-zookeeper-client' {
  const zk: any
  export default zk
}
