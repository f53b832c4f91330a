/**
 * S3Options: how an s3:// backup target is reached. Never part of the URL (url.ts refuses credentials in it),
 * never logged, never persisted in ZooKeeper. Resolved by the S3 module from flags, env vars and a credentials
 * file (see its resolve function); the scheduler hands them to executors that restore (MemberRestore.s3).
 */
export interface S3Options {
  /** http(s)://host:port of an S3-compatible store; default: AWS's regional endpoint. */
  endpoint?: string
  /** Default us-east-1. */
  region?: string
  /** Path-style addressing (http://host/bucket/key), the norm for self-hosted stores; default true with an endpoint. */
  forcePathStyle?: boolean
  accessKeyId?: string
  secretAccessKey?: string
  sessionToken?: string
  /** An AWS-style shared credentials file (ini, [default] or `profile`) read when no key is given. */
  credentialsFile?: string
  profile?: string
  /** A PEM CA bundle to verify an https endpoint with. */
  caFile?: string
}

/** What openBackupTarget needs besides the URL. */
export interface OpenTargetOptions {
  s3?: S3Options
}
