// Minimal ambient types for node-zookeeper-client (it ships none). Only src/lib/zk uses it.
declare module 'node-zookeeper-client' {
  // biome-ignore lint/suspicious/noExplicitAny: the library ships no types; src/lib/zk/raw.ts types what we use
  const zk: any
  export default zk
}
