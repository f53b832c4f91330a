/**
 * ACL and authentication helpers. With credentials in the zk:// URL the session authenticates with the
 * `digest` scheme and nodes are created world-read + creator-all (like Mesos does); without, nodes are open.
 */
import zookeeper from 'node-zookeeper-client'
import type {RawClient} from './raw.js'
import type {ZkUrl} from './url.js'

/** Add the URL's credentials (if any) to a new session, before it connects. */
export function addDigestAuth(raw: RawClient, auth: ZkUrl['auth']): void {
  if (auth) raw.addAuthInfo('digest', Buffer.from(`${auth.user}:${auth.password}`))
}

/** The ACL list for nodes this client creates. */
export function nodeAcls(auth: ZkUrl['auth']): unknown[] {
  const {ACL, Id, Permission} = zookeeper
  if (!auth) return [new ACL(Permission.ALL, new Id('world', 'anyone'))]
  return [new ACL(Permission.ALL, new Id('auth', '')), new ACL(Permission.READ, new Id('world', 'anyone'))]
}
